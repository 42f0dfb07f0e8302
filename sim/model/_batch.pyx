# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled fast path: a SimPy batch of connection attempts in C (see ``sim.model.compiled``).

``Batch`` runs the common case of ``PortModel``: connect() with the ``linux`` (even-sized range),
``random_start`` or ``sequential`` policy, closes by the client (through TIME_WAIT), by the server or by an
RST (the 4-tuple free at once), no layer subscribed to the lifecycle. It mirrors, step for step,
``traffic``, ``PortModel.attempt``/``allocate``, ``Lifecycle._advance_simple``, ``Transitions.end``,
``PortPool.take``/``close``/``release``, ``Accounting`` and ``Recorder.connected``/``failed``, which stay
the reference: the differential tests compare the two.

While attached it owns the calendar (the heap of connection ends and the TIME_WAIT queue) and the
policy's table; it works on the pool's own byte arrays, pulls from the model's own random-number
iterators, and appends to the recorder's own typed buffers (``array``), which numpy folds in bulk.
Counters are read from the Python objects when C code is entered and written back when it returns, so
that everything Python reads between two batches (samples, warm-up, the port map, progress) is current.
When a rule it lacks comes up (``max_tw_buckets`` reached at a client's close, a layer subscribing), it
writes the calendar back as the Python lifecycle holds it and hands over, before that close, for the rest
of the run.
"""

from libc.math cimport ceil
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memchr, memset
from cpython cimport array
from cpython.object cimport Py_SIZE

import math

from ..core.transitions import AT_ONCE

cdef extern from *:
    """
    #ifndef PORTSIM_SOURCE_HASH
    #define PORTSIM_SOURCE_HASH "unknown"
    #endif
    """
    const char* PORTSIM_SOURCE_HASH

SOURCE_HASH = PORTSIM_SOURCE_HASH.decode("ascii")
"""Digest of the sources this build mirrors, taken when it was compiled (see ``sim.model.compiled``)."""

cdef double INF = math.inf
cdef double NEVER = -1.0
cdef double GRID_EPSILON = 1e-12
cdef unsigned char ESTABLISHED = 1
cdef unsigned char TIME_WAIT = 2
cdef int LINUX = 0, RANDOM_START = 1, SEQUENTIAL = 2
POLICY_KINDS = {"linux": LINUX, "random_start": RANDOM_START, "sequential": SEQUENTIAL}
"""The policies the compiled path runs, by registered name."""


cdef struct End:
    double t
    int64_t ident
    double opened
    int dst
    int slot
    int cls


cdef struct Wait:
    double expiry
    double since
    int64_t ident
    double opened
    int dst
    int slot
    int cls


cdef inline bint before(End* a, End* b) noexcept nogil:
    return a.t < b.t or (a.t == b.t and a.ident < b.ident)


cdef inline int push_q(array.array buffer, int64_t value) except -1:
    """``buffer.append(value)`` for an ``array('q')``."""
    cdef Py_ssize_t n = Py_SIZE(buffer)
    array.resize_smart(buffer, n + 1)
    buffer.data.as_longlongs[n] = value
    return 0


cdef inline int push_d(array.array buffer, double value) except -1:
    """``buffer.append(value)`` for an ``array('d')``."""
    cdef Py_ssize_t n = Py_SIZE(buffer)
    array.resize_smart(buffer, n + 1)
    buffer.data.as_doubles[n] = value
    return 0


cdef inline Py_ssize_t find0(unsigned char* v, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """bytearray.find(0, a, b)."""
    if b <= a:
        return -1
    cdef void* p = memchr(v + a, 0, b - a)
    if p == NULL:
        return -1
    return <unsigned char*>p - v


cdef class Batch:
    """The model's calendar and hot path in C, attached to one ``PortModel`` (see the module docstring)."""

    cdef object model, lifecycle, pool, recorder, policy, levels, port_map, every_tick
    cdef list keep, drivers_durations, drivers_pick
    cdef array.array probes_buf, occupancy_buf, pairs_buf, offsets_buf, reuse_buf
    cdef list first_failure, times, drivers
    cdef public bint attached
    cdef public long count
    cdef long tick_mask
    # calendar
    cdef End* heap
    cdef Py_ssize_t heap_n, heap_cap
    cdef Wait* ring
    cdef Py_ssize_t ring_head, ring_n, ring_cap
    # pool
    cdef int size, n_dest, n_keys, n_workloads, sharing
    cdef double usable
    cdef unsigned char** views
    cdef double** released
    cdef unsigned int* refs
    cdef unsigned char* local
    cdef double* since
    cdef int* offsets
    cdef int64_t* busy
    cdef int64_t in_use, ports_in_use
    cdef double port_seconds, pool_window
    # accounting
    cdef int64_t established, time_wait, fin_wait2, peak_established, peak_time_wait
    cdef double seconds_established, seconds_time_wait, window
    cdef int64_t* dest_held
    cdef int64_t* dest_tw
    cdef int64_t* dest_peak_held
    cdef int64_t* dest_peak_tw
    # timers
    cdef double tw_length, grid, limit
    # recorder
    cdef int64_t* attempts
    cdef int64_t* successes
    cdef int64_t* failures
    cdef int64_t* dest_attempts
    cdef int64_t* dest_successes
    cdef int64_t* dest_failures
    cdef char* failed_once
    cdef int64_t peak_ports
    # policy
    cdef int kind, random_increment
    cdef uint64_t* table
    cdef uint64_t mask, span
    cdef Py_ssize_t half, table_n
    cdef double epoch_end
    cdef uint64_t* dest_hash
    cdef char* hash_valid
    cdef int64_t seq_last
    cdef object starts, noise_iter
    # drivers and streams
    cdef int* dest0
    cdef char* at_once
    cdef int64_t next_id
    cdef int n_streams
    cdef double* next_t
    cdef int* stream_class

    def __cinit__(self):
        self.heap = NULL
        self.ring = NULL
        self.views = NULL
        self.released = NULL
        self.offsets = NULL
        self.busy = NULL
        self.dest_held = self.dest_tw = self.dest_peak_held = self.dest_peak_tw = NULL
        self.attempts = self.successes = self.failures = NULL
        self.dest_attempts = self.dest_successes = self.dest_failures = NULL
        self.failed_once = NULL
        self.table = NULL
        self.dest_hash = NULL
        self.hash_valid = NULL
        self.dest0 = NULL
        self.at_once = NULL
        self.next_t = NULL
        self.stream_class = NULL

    def __dealloc__(self):
        free(self.heap)
        free(self.ring)
        free(self.views)
        free(self.released)
        free(self.offsets)
        free(self.busy)
        free(self.dest_held)
        free(self.dest_tw)
        free(self.dest_peak_held)
        free(self.dest_peak_tw)
        free(self.attempts)
        free(self.successes)
        free(self.failures)
        free(self.dest_attempts)
        free(self.dest_successes)
        free(self.dest_failures)
        free(self.failed_once)
        free(self.table)
        free(self.dest_hash)
        free(self.hash_valid)
        free(self.dest0)
        free(self.at_once)
        free(self.next_t)
        free(self.stream_class)

    def __init__(
        self, model, every_tick, long tick_mask
    ):
        """Attach to ``model``, a fresh ``PortModel`` whose run it covers (``sim.model.compiled.uncovered``).

        ``every_tick(t)`` is called every ``tick_mask + 1`` attempts, as ``traffic`` does.
        """
        cdef Py_ssize_t k, i
        cdef unsigned char[::1] byte_view
        cdef double[::1] double_view
        cdef unsigned int[::1] uint_view
        self.model = model
        self.lifecycle = model.lifecycle
        self.pool = model.pool
        self.recorder = model.recorder
        self.policy = model.policy
        self.levels = self.lifecycle.levels
        self.port_map = model.port_map
        self.every_tick = every_tick
        self.tick_mask = tick_mask
        self.keep = []
        pool = self.pool
        self.size = pool.size
        self.n_dest = pool.n_destinations
        self.sharing = pool.sharing
        self.n_keys = self.n_dest if self.sharing else 1
        self.n_workloads = len(model.drivers)
        self.usable = pool._usable
        self.views = <unsigned char**>malloc(self.n_keys * sizeof(unsigned char*))
        self.released = <double**>malloc(self.n_keys * sizeof(double*))
        self.busy = <int64_t*>malloc(self.n_keys * sizeof(int64_t))
        for k in range(self.n_keys):
            pool.view(0, k)
            byte_view = pool._views[0][k]
            self.keep.append(byte_view)
            self.views[k] = &byte_view[0]
            double_view = pool._released[0][k]
            self.keep.append(double_view)
            self.released[k] = &double_view[0]
        uint_view = pool.refs[0]
        self.keep.append(uint_view)
        self.refs = &uint_view[0]
        byte_view = pool.local[0]
        self.keep.append(byte_view)
        self.local = &byte_view[0]
        double_view = pool._since[0]
        self.keep.append(double_view)
        self.since = &double_view[0]
        self.offsets = <int*>malloc(self.size * sizeof(int))
        for i in range(self.size):
            self.offsets[i] = pool.offsets[i]
        n = self.n_dest
        self.dest_held = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_tw = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_peak_held = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_peak_tw = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_attempts = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_successes = <int64_t*>malloc(n * sizeof(int64_t))
        self.dest_failures = <int64_t*>malloc(n * sizeof(int64_t))
        w = self.n_workloads
        self.attempts = <int64_t*>malloc(w * sizeof(int64_t))
        self.successes = <int64_t*>malloc(w * sizeof(int64_t))
        self.failures = <int64_t*>malloc(w * sizeof(int64_t))
        self.failed_once = <char*>malloc(w)
        self.dest0 = <int*>malloc(w * sizeof(int))
        self.at_once = <char*>malloc(w)
        self.drivers = model.drivers
        codes = self.lifecycle.rules.close_codes
        for i in range(w):
            self.dest0[i] = self.drivers[i].destinations[0]
            self.at_once[i] = codes[i] == AT_ONCE
        timers = self.lifecycle.timers
        self.tw_length = timers.time_wait
        self.grid = timers.granularity
        self.limit = INF if timers.max_tw_buckets is None else timers.max_tw_buckets
        rec = self.recorder
        self.probes_buf = rec._probes
        self.occupancy_buf = rec._occupancy
        self.pairs_buf = rec._pairs
        self.offsets_buf = rec._offsets
        self.reuse_buf = rec.reuse._buffer
        self.first_failure = rec.first_failure
        self.kind = POLICY_KINDS[model.host.policy_name]
        policy = self.policy
        if self.kind == LINUX:
            self.table_n = len(policy.table)
            self.table = <uint64_t*>malloc(self.table_n * sizeof(uint64_t))
            for i in range(self.table_n):
                self.table[i] = policy.table[i]
            self.mask = policy.mask
            self.span = policy.remaining
            self.half = policy._half
            self.random_increment = policy._random_increment
            self.noise_iter = policy._noise
            self.dest_hash = <uint64_t*>malloc(n * sizeof(uint64_t))
            self.hash_valid = <char*>malloc(n)
            memset(self.hash_valid, 0, n)
            self.epoch_end = policy._epoch_end
        elif self.kind == RANDOM_START:
            self.starts = policy._starts
        self.heap_cap = 1024
        self.heap = <End*>malloc(self.heap_cap * sizeof(End))
        self.heap_n = 0
        self.ring_cap = 1024
        self.ring = <Wait*>malloc(self.ring_cap * sizeof(Wait))
        self.ring_head = 0
        self.ring_n = 0
        self.next_id = model._next_id
        self.count = 0
        self.n_streams = 0
        self.attached = True
        if self.heap == NULL or self.ring == NULL:
            raise MemoryError()

    # ------------------------------------------------------------ state in and out

    cdef void load(self) except *:
        """Read the counters Python may have changed since the last batch."""
        cdef Py_ssize_t i
        pool, levels, rec = self.pool, self.levels, self.recorder
        busy = pool._busy[0]
        for i in range(self.n_keys):
            self.busy[i] = busy[i]
        self.in_use = pool.in_use[0]
        self.ports_in_use = pool.ports_in_use
        self.port_seconds = pool._port_seconds
        self.pool_window = pool.window_start
        self.established = levels.established
        self.time_wait = levels.time_wait
        self.fin_wait2 = levels.fin_wait2
        self.peak_established = levels.peak_established
        self.peak_time_wait = levels.peak_time_wait
        self.seconds_established = levels.seconds_established
        self.seconds_time_wait = levels.seconds_time_wait
        self.window = levels.window_start
        held, tw, peak_held, peak_tw = levels.dest_held, levels.dest_time_wait, levels.dest_peak_held, levels.dest_peak_time_wait
        dest_attempts, dest_established, dest_failures = rec.dest_attempts, rec.dest_established, rec.dest_failures
        for i in range(self.n_dest):
            self.dest_held[i] = held[i]
            self.dest_tw[i] = tw[i]
            self.dest_peak_held[i] = peak_held[i]
            self.dest_peak_tw[i] = peak_tw[i]
            self.dest_attempts[i] = dest_attempts[i]
            self.dest_successes[i] = dest_established[i]
            self.dest_failures[i] = dest_failures[i]
        attempts, established, failures = rec.attempts, rec.established, rec.failures
        for i in range(self.n_workloads):
            self.attempts[i] = attempts[i]
            self.successes[i] = established[i]
            self.failures[i] = failures[i]
            self.failed_once[i] = self.first_failure[i] is not None
        self.peak_ports = rec.peak_ports
        if self.kind == SEQUENTIAL:
            self.seq_last = self.policy.last
        # the workloads' own random streams, as the Python model would read them now
        self.drivers_durations = [d.durations for d in self.drivers]
        self.drivers_pick = [d.pick_destination for d in self.drivers]

    cdef void store(self) except *:
        """Write the counters back to the Python objects."""
        cdef Py_ssize_t i
        pool, levels, rec = self.pool, self.levels, self.recorder
        busy = pool._busy[0]
        for i in range(self.n_keys):
            busy[i] = self.busy[i]
        pool.in_use[0] = self.in_use
        pool.ports_in_use = self.ports_in_use
        pool._port_seconds = self.port_seconds
        levels.established = self.established
        levels.time_wait = self.time_wait
        levels.peak_established = self.peak_established
        levels.peak_time_wait = self.peak_time_wait
        levels.seconds_established = self.seconds_established
        levels.seconds_time_wait = self.seconds_time_wait
        held, tw, peak_held, peak_tw = levels.dest_held, levels.dest_time_wait, levels.dest_peak_held, levels.dest_peak_time_wait
        dest_attempts, dest_established, dest_failures = rec.dest_attempts, rec.dest_established, rec.dest_failures
        for i in range(self.n_dest):
            held[i] = self.dest_held[i]
            tw[i] = self.dest_tw[i]
            peak_held[i] = self.dest_peak_held[i]
            peak_tw[i] = self.dest_peak_tw[i]
            dest_attempts[i] = self.dest_attempts[i]
            dest_established[i] = self.dest_successes[i]
            dest_failures[i] = self.dest_failures[i]
        attempts, established, failures = rec.attempts, rec.established, rec.failures
        for i in range(self.n_workloads):
            attempts[i] = self.attempts[i]
            established[i] = self.successes[i]
            failures[i] = self.failures[i]
        rec.peak_ports = self.peak_ports
        self.model._next_id = self.next_id
        if self.kind == SEQUENTIAL:
            self.policy.last = self.seq_last

    cdef tuple connection(self, int64_t ident, int dst, int slot, int cls, double opened):
        return (0, dst, slot, cls, ident, opened)

    def detach(self):
        """Hand the run back to the Python model between batches (the end of a run, a layer subscribing)."""
        if self.attached:
            self.load()
            self.handover()

    cdef int handover(self) except -1:
        """Hand the run back to the Python model: counters, the policy's table and the calendar as it holds them
        (the counters in C must be current: inside a batch, or after ``load``)."""
        cdef Py_ssize_t i
        cdef End* e
        cdef Wait* w
        self.store()
        if self.kind == LINUX:
            table = self.policy.table
            for i in range(self.table_n):
                table[i] = self.table[i]
        calendar = self.lifecycle.calendar
        ends = calendar.ends
        ends.clear()  # refilled in the C heap's array order: already a heapq heap, the (time, id) keys being unique
        for i in range(self.heap_n):
            e = &self.heap[i]
            ends.append((e.t, e.ident, self.connection(e.ident, e.dst, e.slot, e.cls, e.opened)))
        time_waits = calendar.time_waits
        time_waits.clear()
        for i in range(self.ring_n):
            w = &self.ring[(self.ring_head + i) & (self.ring_cap - 1)]
            time_waits.append((w.expiry, self.connection(w.ident, w.dst, w.slot, w.cls, w.opened), w.since))
        self.heap_n = 0
        self.ring_n = 0
        self.attached = False
        self.model.batch = None
        return 0

    # ------------------------------------------------------------ calendar

    cdef int push_end(self, double t, int64_t ident, int dst, int slot, int cls, double opened) except -1:
        cdef Py_ssize_t i, parent
        cdef End item
        cdef End* grown
        if self.heap_n == self.heap_cap:
            grown = <End*>realloc(self.heap, 2 * self.heap_cap * sizeof(End))
            if grown == NULL:
                raise MemoryError()
            self.heap = grown
            self.heap_cap *= 2
        item.t = t
        item.ident = ident
        item.opened = opened
        item.dst = dst
        item.slot = slot
        item.cls = cls
        i = self.heap_n
        self.heap_n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if before(&item, &self.heap[parent]):
                self.heap[i] = self.heap[parent]
                i = parent
            else:
                break
        self.heap[i] = item
        return 0

    cdef void pop_end(self) noexcept:
        cdef Py_ssize_t n = self.heap_n - 1
        cdef Py_ssize_t i = 0, child
        cdef End last = self.heap[n]
        self.heap_n = n
        if n == 0:
            return
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and before(&self.heap[child + 1], &self.heap[child]):
                child += 1
            if before(&self.heap[child], &last):
                self.heap[i] = self.heap[child]
                i = child
            else:
                break
        self.heap[i] = last

    cdef int push_wait(self, double expiry, double since, End* e) except -1:
        cdef Wait* grown
        cdef Py_ssize_t i, cap = self.ring_cap
        if self.ring_n == cap:
            grown = <Wait*>malloc(2 * cap * sizeof(Wait))
            if grown == NULL:
                raise MemoryError()
            for i in range(self.ring_n):
                grown[i] = self.ring[(self.ring_head + i) & (cap - 1)]
            free(self.ring)
            self.ring = grown
            self.ring_head = 0
            self.ring_cap = 2 * cap
        cdef Wait* w = &self.ring[(self.ring_head + self.ring_n) & (self.ring_cap - 1)]
        w.expiry = expiry
        w.since = since
        w.ident = e.ident
        w.opened = e.opened
        w.dst = e.dst
        w.slot = e.slot
        w.cls = e.cls
        self.ring_n += 1
        return 0

    # ------------------------------------------------------------ the lifecycle

    cdef inline void release(self, int key, Py_ssize_t slot, double t) noexcept:
        """``PortPool.release`` of a 4-tuple not bound."""
        cdef unsigned int r
        cdef double opened
        self.views[key][slot] = 0
        self.busy[key] -= 1
        self.released[key][slot] = t
        r = self.refs[slot] - 1
        self.refs[slot] = r
        if r == 0:
            self.local[slot] = 0
            self.in_use -= 1
            self.ports_in_use -= 1
            if t > self.pool_window:
                opened = self.since[slot]
                self.port_seconds += t - (opened if opened > self.pool_window else self.pool_window)

    cdef int advance_to(self, double now) except -1:
        """``Lifecycle._advance_simple``: closes and TIME_WAIT expiries due by ``now``; 1 when it handed over."""
        cdef double t, next_end, expires, closed
        cdef int dst, slot
        cdef int key
        cdef bint at_once
        cdef Wait* w
        cdef End e
        next_end = self.heap[0].t if self.heap_n else INF
        while True:
            if self.ring_n and self.ring[self.ring_head].expiry < next_end:
                w = &self.ring[self.ring_head]
                t = w.expiry
                if t > now:
                    return 0
                dst = w.dst
                slot = w.slot
                closed = w.since
                self.ring_head = (self.ring_head + 1) & (self.ring_cap - 1)
                self.ring_n -= 1
                self.time_wait -= 1
                if t > self.window:
                    self.seconds_time_wait += t - (closed if closed > self.window else self.window)
                self.dest_tw[dst] -= 1
                self.dest_held[dst] -= 1
                self.release(dst if self.sharing else 0, slot, t)
            elif next_end <= now:
                at_once = self.at_once[self.heap[0].cls]
                if not at_once and self.time_wait + self.fin_wait2 >= self.limit:
                    self.handover()  # max_tw_buckets: the Python rules from this close on
                    return 1
                e = self.heap[0]
                self.pop_end()
                next_end = self.heap[0].t if self.heap_n else INF
                t = e.t
                dst = e.dst
                self.established -= 1
                if t > self.window:
                    self.seconds_established += t - (e.opened if e.opened > self.window else self.window)
                key = dst if self.sharing else 0
                if at_once:  # the peer closed first, or an RST: the 4-tuple is free at once (Transitions.end)
                    self.dest_held[dst] -= 1
                    self.release(key, e.slot, t)
                    continue
                self.views[key][e.slot] = TIME_WAIT
                self.time_wait += 1
                if self.time_wait > self.peak_time_wait:
                    self.peak_time_wait = self.time_wait
                self.dest_tw[dst] += 1
                if self.dest_tw[dst] > self.dest_peak_tw[dst]:
                    self.dest_peak_tw[dst] = self.dest_tw[dst]
                if self.grid:
                    expires = ceil((t + self.tw_length) / self.grid - GRID_EPSILON) * self.grid
                else:
                    expires = t + self.tw_length
                self.push_wait(expires, t, &e)
            else:
                return 0

    # ------------------------------------------------------------ the policies

    cdef uint64_t linux_hash(self, int dst, double now) except? 0:
        cdef double previous = self.epoch_end
        h = self.policy.destination_hash(0, dst, now)
        self.epoch_end = self.policy._epoch_end
        if self.epoch_end != previous:
            memset(self.hash_valid, 0, self.n_dest)
        self.dest_hash[dst] = h
        self.hash_valid[dst] = 1
        return self.dest_hash[dst]

    cdef Py_ssize_t linux_connect(self, unsigned char* v, int dst, double now, int64_t* probes) except -2:
        """``Linux.connect`` on an even-sized range."""
        cdef uint64_t h, index, offset
        cdef Py_ssize_t j0, found, before, half = self.half, size = self.size, start
        cdef int64_t i, noise
        if now < self.epoch_end and self.hash_valid[dst]:
            h = self.dest_hash[dst]
        else:
            h = self.linux_hash(dst, now)
        index = h & self.mask
        offset = ((self.table[index] + (h >> 32)) % self.span) & ~(<uint64_t>1)
        j0 = <Py_ssize_t>(offset >> 1)
        if not v[j0]:
            found = j0
            probes[0] = 1
            before = 0
        else:
            found = find0(v, j0, half)
            if found >= 0:
                probes[0] = found - j0 + 1
                before = found - j0
            else:
                found = find0(v, 0, j0)
                if found >= 0:
                    probes[0] = half - j0 + found + 1
                    before = half - j0 + found
                else:
                    start = half + j0
                    found = find0(v, start, size)
                    if found >= 0:
                        probes[0] = half + found - start + 1
                        before = found - start
                    else:
                        found = find0(v, half, start)
                        if found >= 0:
                            probes[0] = half + size - start + found - half + 1
                            before = size - start + found - half
                        else:
                            probes[0] = size
                            return -1
        i = 2 * before
        if self.random_increment:
            noise = 2 * <int64_t>next(self.noise_iter)
            if noise > i:
                i = noise
        self.table[index] = (self.table[index] + <uint64_t>i + 2) & 0xFFFFFFFF
        return found

    cdef Py_ssize_t scan_from(self, unsigned char* v, Py_ssize_t start, int64_t* probes) noexcept:
        """``scans.scan_from``."""
        cdef Py_ssize_t size = self.size
        cdef Py_ssize_t found = find0(v, start, size)
        if found >= 0:
            probes[0] = found - start + 1
            return found
        found = find0(v, 0, start)
        if found >= 0:
            probes[0] = size - start + found + 1
            return found
        probes[0] = size
        return -1

    # ------------------------------------------------------------ one attempt

    cdef int attempt(self, int w, double now) except -1:
        """``PortModel.attempt`` for workload ``w`` at ``now``; 1 when it handed over before starting it."""
        cdef int dst, key
        cdef Py_ssize_t slot, start
        cdef int64_t probes = 0
        cdef double occupancy, last, interval, end
        cdef unsigned char* v
        if self.heap_n or self.ring_n:
            if self.advance_to(now):
                return 1
        pick = self.drivers_pick[w]
        dst = self.dest0[w] if pick is None else <int>next(pick)
        key = dst if self.sharing else 0
        v = self.views[key]
        occupancy = self.busy[key] / self.usable
        if self.kind == LINUX:
            slot = self.linux_connect(v, dst, now, &probes)
        elif self.kind == RANDOM_START:
            start = <Py_ssize_t>next(self.starts)
            slot = self.scan_from(v, start, &probes)
        else:
            start = self.seq_last + 1
            if start == self.size:
                start = 0
            slot = self.scan_from(v, start, &probes)
            if slot >= 0:
                self.seq_last = slot
        self.attempts[w] += 1
        self.dest_attempts[dst] += 1
        push_q(self.probes_buf, probes)
        push_d(self.occupancy_buf, occupancy)
        if slot < 0:
            self.failures[w] += 1
            self.dest_failures[dst] += 1
            if not self.failed_once[w]:
                self.failed_once[w] = 1
                self.first_failure[w] = now
            if self.port_map.still is None:
                self.store()
                self.port_map.failed(0, dst, now)
            return 0
        # PortPool.take, not bound, nothing to recycle
        v[slot] = ESTABLISHED
        self.busy[key] += 1
        self.refs[slot] += 1
        if self.refs[slot] == 1:
            self.local[slot] = 1
            self.in_use += 1
            self.ports_in_use += 1
            self.since[slot] = now
        last = self.released[key][slot]
        interval = -1.0 if last == NEVER else now - last
        # Recorder.connected
        self.successes[w] += 1
        self.dest_successes[dst] += 1
        push_q(self.pairs_buf, dst)
        push_q(self.offsets_buf, self.offsets[slot])
        if self.ports_in_use > self.peak_ports:
            self.peak_ports = self.ports_in_use
        if interval >= 0:
            push_d(self.reuse_buf, interval)
        self.next_id += 1
        # Lifecycle.open
        end = now + <double>next(self.drivers_durations[w])
        self.push_end(end, self.next_id, dst, <int>slot, w, now)
        self.established += 1
        if self.established > self.peak_established:
            self.peak_established = self.established
        self.dest_held[dst] += 1
        if self.dest_held[dst] > self.dest_peak_held[dst]:
            self.dest_peak_held[dst] = self.dest_held[dst]
        return 0

    # ------------------------------------------------------------ entry points

    cdef bint keeps(self) except -1:
        """Whether it still covers the run: no layer has subscribed to the lifecycle since it attached (else it
        hands over now, before any close or expiry the subscriber must be told about)."""
        if self.attached and (self.lifecycle.hooks or not self.lifecycle._fast):
            self.detach()
        return self.attached

    def advance(self, double now):
        """``Lifecycle.advance`` while attached (and after it, the Python lifecycle's)."""
        if not self.keeps():
            type(self.lifecycle).advance(self.lifecycle, now)
            return
        self.load()
        if self.advance_to(now):
            type(self.lifecycle).advance(self.lifecycle, now)
            return
        self.store()

    def streams(self, list classes, list times):
        """The merged arrival streams: workload index and times iterator of each (``traffic``'s order)."""
        cdef Py_ssize_t i, n = len(classes)
        self.times = times
        self.n_streams = n
        self.next_t = <double*>malloc(n * sizeof(double))
        self.stream_class = <int*>malloc(n * sizeof(int))
        for i in range(n):
            self.stream_class[i] = classes[i]
            first = next(times[i], None)
            self.next_t[i] = INF if first is None else <double>first

    def next_time(self):
        """The time of the next attempt, inf when every stream has ended."""
        cdef double t = INF
        cdef Py_ssize_t i
        for i in range(self.n_streams):
            if self.next_t[i] < t:
                t = self.next_t[i]
        return t

    def remaining(self):
        """(time, stream index, times iterator) of each stream not ended: where the Python loop takes over."""
        return [(self.next_t[i], i, self.times[i]) for i in range(self.n_streams) if self.next_t[i] < INF]

    def run(self, double horizon):
        """Make every attempt before ``horizon`` in time order (at equal times the stream listed first).

        Stops early when it hands over to the Python model (``attached`` is then False), which makes the
        attempt due next. ``count`` holds the attempts made so far in the run.
        """
        cdef Py_ssize_t i, best
        cdef double t
        cdef long count = self.count
        cdef int n = self.n_streams
        cdef double* next_t = self.next_t
        if not self.keeps():
            return
        self.load()
        try:
            while True:
                best = -1
                t = INF
                for i in range(n):
                    if next_t[i] < t:
                        t = next_t[i]
                        best = i
                if best < 0 or t >= horizon:
                    return
                if self.attempt(self.stream_class[best], t):
                    return
                count += 1
                if not count & self.tick_mask:
                    self.count = count
                    self.store()
                    self.every_tick(t)
                following = next(self.times[best], None)
                next_t[best] = INF if following is None else <double>following
        finally:
            self.count = count
            if self.attached:
                self.store()
