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
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memchr, memcpy, memset
from cpython cimport array
from cpython.object cimport Py_SIZE

import gc
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
    int src
    int dst
    int slot
    int cls


cdef struct Wait:
    double expiry
    double since
    int64_t ident
    double opened
    int src
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


# ---------------------------------------------------------------- the translator (sim.nat)

cdef int QUOTA = 0, SNAT = 1
cdef Py_ssize_t COMPACT_AT = 1 << 20
cdef unsigned char SNAT_FREE = 0, SNAT_BUSY = 1, SNAT_CLOSING = 2
cdef int SNAT_FIRST_ROUND = 128, SNAT_LAST_ROUND = 8, SNAT_HARDER = 32
cdef uint64_t MIX0 = 0x9E3779B1, MIX1 = 0x85EBCA77, MIX2 = 0xC2B2AE3D


cdef struct Ring:
    char* data
    Py_ssize_t head, n, cap, item


cdef int ring_init(Ring* r, Py_ssize_t item) except -1:
    r.cap = 256
    r.item = item
    r.head = 0
    r.n = 0
    r.data = <char*>malloc(r.cap * item)
    if r.data == NULL:
        raise MemoryError()
    return 0


cdef inline void* ring_at(Ring* r, Py_ssize_t i) noexcept nogil:
    return r.data + ((r.head + i) & (r.cap - 1)) * r.item


cdef void* ring_push(Ring* r) except NULL:
    """A new item at the tail (its fields to be written by the caller)."""
    cdef char* grown
    cdef Py_ssize_t first
    if r.n == r.cap:
        grown = <char*>malloc(2 * r.cap * r.item)
        if grown == NULL:
            raise MemoryError()
        first = r.cap - r.head
        memcpy(grown, r.data + r.head * r.item, first * r.item)
        memcpy(grown + first * r.item, r.data, r.head * r.item)
        free(r.data)
        r.data = grown
        r.head = 0
        r.cap *= 2
    r.n += 1
    return ring_at(r, r.n - 1)


cdef inline void ring_pop(Ring* r) noexcept nogil:
    r.head = (r.head + 1) & (r.cap - 1)
    r.n -= 1


cdef struct Mapping:
    int64_t conn
    int64_t token
    double opened
    int unit
    int host
    int alive


cdef struct Closed:
    double t
    int64_t conn
    int rst


cdef struct Owner:
    int64_t conn
    int host
    int port


cdef struct Freeing:
    double t
    int64_t token
    int64_t conn
    int unit
    int host


cdef inline int64_t* new_i(Py_ssize_t n) except NULL:
    cdef int64_t* p = <int64_t*>calloc(n if n > 0 else 1, sizeof(int64_t))
    if p == NULL:
        raise MemoryError()
    return p


cdef inline double* new_d(Py_ssize_t n) except NULL:
    cdef double* p = <double*>calloc(n if n > 0 else 1, sizeof(double))
    if p == NULL:
        raise MemoryError()
    return p


cdef int64_t* shared_q(list keep, object values) except NULL:
    """A pointer to the items of ``values``, a typed ``array("q")`` that C and Python then share (its memoryview
    kept alive in ``keep``)."""
    cdef int64_t[::1] view = values
    keep.append(view)
    return &view[0]


cdef void get_i(object values, int64_t* out, Py_ssize_t n) except *:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = values[i]


cdef void put_i(object values, int64_t* out, Py_ssize_t n) except *:
    cdef Py_ssize_t i
    for i in range(n):
        values[i] = out[i]


cdef void get_d(object values, double* out, Py_ssize_t n) except *:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = values[i]


cdef void put_d(object values, double* out, Py_ssize_t n) except *:
    cdef Py_ssize_t i
    for i in range(n):
        values[i] = out[i]


def fold_pairs(
    const int64_t[::1] pairs,
    const int64_t[::1] offsets,
    int64_t[::1] count,
    const int64_t[::1] row,
    int64_t[::1] last_use,
    int64_t[::1] previous,
    object sizes,
    int64_t n_dests,
    int64_t size,
    int64_t[::1] steps,
    int64_t[::1] step_dests,
    int64_t[::1] distances,
    int64_t[::1] distance_dests,
):
    """``Recorder._fold_pairs`` walked in connection order, without its sorts (see ``Recorder._fold_walked``).

    Per connection of pair ``p`` at port ``o``: the step from the pair's previous port (mod its range size) and
    the reuse distance from the port's last use, written to ``steps``/``distances`` with their destinations;
    ``previous``, ``count`` and ``last_use`` (flat, ``row[p] * size + o``) carried on. Returns how many steps and
    distances it wrote.
    """
    cdef Py_ssize_t i, n = pairs.shape[0], n_steps = 0, n_distances = 0
    cdef int64_t p, o, before, modulus, step, k, used
    cdef Py_ssize_t cell
    cdef const int64_t[::1] per_source
    cdef bint varied = sizes is not None
    if varied:
        per_source = sizes
    for i in range(n):
        p = pairs[i]
        o = offsets[i]
        before = previous[p]
        if before >= 0:
            modulus = per_source[p // n_dests] if varied else size
            step = o - before
            if step < 0:
                step += modulus
            steps[n_steps] = step
            step_dests[n_steps] = p % n_dests
            n_steps += 1
        previous[p] = o
        k = count[p]
        cell = row[p] * size + o
        used = last_use[cell]
        if used > 0:
            distances[n_distances] = k - (used - 1)
            distance_dests[n_distances] = p % n_dests
            n_distances += 1
        last_use[cell] = k + 1
        count[p] = k + 1
    return n_steps, n_distances


cdef class Nat:
    """``NatLayer`` and its ``Translator`` (``QuotaTranslator`` or ``LinuxSnatTranslator``) in C, for ``Batch``.

    It mirrors ``Translator.map``/``closed``/``advance``/``_level`` and each kind's ``_take``/``_cool``/
    ``_free``/``room_elsewhere``/``free_elsewhere``, which stay the reference. Levels and counters are read
    from the Python translator when C code is entered and written back when it returns (``load``/``store``);
    its queues (open mappings, closes not yet applied, mappings to free) live here until ``handover``
    writes them back. The layer's dropped SYNs stay in its own deque (rare, read by its ``sample``).
    """

    cdef object tr, held
    cdef array.array probes
    cdef int kind, units, hosts, n_dest, per_host, low
    cdef double timeout
    cdef double after_fin, after_rst, idle
    # levels and counters (Translator)
    cdef int64_t* busy
    cdef int64_t* cooling
    cdef int64_t* peak_busy
    cdef int64_t* peak_cooling
    cdef double* moment_busy
    cdef double* moment_cooling
    cdef int64_t* unit_failures
    cdef int64_t* host_held
    cdef int64_t* host_cooling
    cdef int64_t* host_failures
    cdef unsigned char* with_room
    cdef int64_t total_busy, total_cooling, peak_total_busy, peak_total_cooling
    cdef int64_t attempts, failures, idle_timeouts, free_share_n
    cdef double free_share_sum
    # queues
    cdef Ring opened, closes, fin, rst
    cdef Py_ssize_t alive
    cdef public Py_ssize_t compact_at
    """Open mappings in the ring (closed ones included) above which it is compacted when mostly closed ones."""
    cdef readonly long compactions
    # QuotaTranslator
    cdef int keys, host_scoped, grow
    cdef int64_t* live
    cdef int64_t* pool_held
    cdef int64_t* cap
    cdef int64_t* key_held
    cdef int64_t cap_total, busy_cap, max_ports, spare
    cdef object starts
    # LinuxSnatTranslator
    cdef int size, snat_low, snat_high, fully_random, persistent
    cdef uint64_t salt
    cdef double evict
    cdef object offsets, coins
    cdef Py_ssize_t n_pools
    cdef unsigned char** states
    cdef int64_t* used
    cdef Owner** owners
    cdef int64_t evicted, with_free
    cdef list keep

    def __cinit__(self):
        self.busy = self.cooling = self.peak_busy = self.peak_cooling = NULL
        self.moment_busy = self.moment_cooling = NULL
        self.unit_failures = self.host_held = self.host_cooling = self.host_failures = NULL
        self.with_room = NULL
        self.live = self.pool_held = self.cap = self.key_held = NULL
        self.states = NULL
        self.used = NULL
        self.owners = NULL
        self.opened.data = self.closes.data = self.fin.data = self.rst.data = NULL
        self.n_pools = 0

    def __dealloc__(self):
        cdef Py_ssize_t i
        free(self.busy)
        free(self.cooling)
        free(self.peak_busy)
        free(self.peak_cooling)
        free(self.moment_busy)
        free(self.moment_cooling)
        free(self.unit_failures)
        free(self.live)
        free(self.pool_held)
        free(self.cap)
        free(self.key_held)
        free(self.opened.data)
        free(self.closes.data)
        free(self.fin.data)
        free(self.rst.data)
        if self.owners != NULL:
            for i in range(self.n_pools):
                free(self.owners[i])
        free(self.owners)
        free(self.states)
        free(self.used)

    def __init__(self, layer, int per_host, int low):
        """Mirror ``layer``, a fresh ``NatLayer`` (its translator with no mapping yet), in front of identical hosts
        with ``per_host`` source addresses each and ranges from ``low``."""
        from ..nat.linux import LinuxSnatTranslator
        from ..nat.quotas import QuotaTranslator

        cdef Py_ssize_t i
        tr = self.tr = layer.translator
        self.keep = []
        self.held = layer._held
        self.timeout = layer._timeout
        self.per_host = per_host
        self.low = low
        self.units = tr.units
        self.hosts = tr.hosts
        self.n_dest = tr.n_dest
        self.after_fin = tr._after_fin
        self.after_rst = tr._after_rst
        self.idle = tr._idle
        self.probes = tr._probes
        u = self.units
        self.busy, self.cooling, self.peak_busy, self.peak_cooling = new_i(u), new_i(u), new_i(u), new_i(u)
        self.moment_busy, self.moment_cooling = new_d(u), new_d(u)
        self.unit_failures = new_i(u)
        # per host: the translator's own typed arrays, shared (it zeroes them in place)
        cdef unsigned char[::1] byte_view
        self.host_held = shared_q(self.keep, tr.host_held)
        self.host_cooling = shared_q(self.keep, tr.host_cooling)
        self.host_failures = shared_q(self.keep, tr.host_failures)
        byte_view = tr.with_room
        self.keep.append(byte_view)
        self.with_room = &byte_view[0]
        ring_init(&self.opened, sizeof(Mapping))
        ring_init(&self.closes, sizeof(Closed))
        ring_init(&self.fin, sizeof(Freeing))
        ring_init(&self.rst, sizeof(Freeing))
        self.alive = 0
        self.compact_at = COMPACT_AT
        self.compactions = 0
        if type(tr) is QuotaTranslator:
            self.kind = QUOTA
            self.keys = tr._keys
            self.host_scoped = tr._host_scoped
            self.grow = tr._grow
            self.live = new_i(self.units * self.keys)
            self.pool_held = new_i(self.units * self.keys)
            self.cap = new_i(self.units)
            self.key_held = new_i(self.keys)
            self.busy_cap = tr._busy_cap
            self.max_ports = tr._max
            self.starts = tr._starts
        elif type(tr) is LinuxSnatTranslator:
            self.kind = SNAT
            self.size = tr.size
            self.snat_low = tr.low
            self.snat_high = tr.high
            self.fully_random = tr._fully_random
            self.persistent = tr._persistent
            self.salt = tr._salt
            self.evict = tr.search.evict
            self.offsets = tr.search._offsets
            self.coins = tr.search._coins
            self.n_pools = self.units * self.n_dest
            self.states = <unsigned char**>calloc(self.n_pools, sizeof(unsigned char*))
            self.used = new_i(self.n_pools)
            self.owners = <Owner**>calloc(self.n_pools, sizeof(Owner*))
            if self.states == NULL or self.owners == NULL:
                raise MemoryError()
        else:
            raise TypeError(f"no compiled translator for {type(tr).__name__}")

    # ------------------------------------------------------------ state in and out

    cdef void load(self) except *:
        """Read the levels and counters Python may have changed since the last batch."""
        tr = self.tr
        u = self.units
        get_i(tr.busy, self.busy, u)
        get_i(tr.cooling, self.cooling, u)
        get_i(tr.peak_busy, self.peak_busy, u)
        get_i(tr.peak_cooling, self.peak_cooling, u)
        get_d(tr._moment_busy, self.moment_busy, u)
        get_d(tr._moment_cooling, self.moment_cooling, u)
        get_i(tr.unit_failures, self.unit_failures, u)
        self.total_busy, self.total_cooling = tr.total_busy, tr.total_cooling
        self.peak_total_busy, self.peak_total_cooling = tr.peak_total_busy, tr.peak_total_cooling
        self.attempts, self.failures, self.idle_timeouts = tr.attempts, tr.failures, tr.idle_timeouts
        self.free_share_sum, self.free_share_n = tr.free_share_sum, tr.free_share_n
        if self.kind == QUOTA:
            get_i(tr._live, self.live, self.units * self.keys)
            get_i(tr._held, self.pool_held, self.units * self.keys)
            get_i(tr._cap, self.cap, u)
            get_i(tr._key_held, self.key_held, self.keys)
            self.cap_total, self.spare = tr._cap_total, tr._spare
        else:
            self.evicted, self.with_free = tr._evicted, tr._with_free

    cdef void store(self) except *:
        """Write the levels and counters back to the Python translator."""
        tr = self.tr
        u = self.units
        put_i(tr.busy, self.busy, u)
        put_i(tr.cooling, self.cooling, u)
        put_i(tr.peak_busy, self.peak_busy, u)
        put_i(tr.peak_cooling, self.peak_cooling, u)
        put_d(tr._moment_busy, self.moment_busy, u)
        put_d(tr._moment_cooling, self.moment_cooling, u)
        put_i(tr.unit_failures, self.unit_failures, u)
        tr.total_busy, tr.total_cooling = self.total_busy, self.total_cooling
        tr.peak_total_busy, tr.peak_total_cooling = self.peak_total_busy, self.peak_total_cooling
        tr.attempts, tr.failures, tr.idle_timeouts = self.attempts, self.failures, self.idle_timeouts
        tr.free_share_sum, tr.free_share_n = self.free_share_sum, self.free_share_n
        if self.kind == QUOTA:
            put_i(tr._live, self.live, self.units * self.keys)
            put_i(tr._held, self.pool_held, self.units * self.keys)
            put_i(tr._cap, self.cap, u)
            put_i(tr._key_held, self.key_held, self.keys)
            tr._cap_total, tr._spare = self.cap_total, self.spare
        else:
            tr._evicted, tr._with_free = self.evicted, self.with_free
            used = tr._used
            for pool in used:
                used[pool] = self.used[pool]

    cdef int handover(self) except -1:
        """Write the queues back as the Python translator holds them (after ``store``)."""
        cdef Py_ssize_t i, j, pool
        cdef Mapping* m
        cdef Closed* c
        cdef Owner* o
        tr = self.tr
        opened = tr._open
        opened.clear()
        for i in range(self.opened.n):
            m = <Mapping*>ring_at(&self.opened, i)
            if m.alive:
                opened[m.conn] = (m.token, m.unit, m.host, m.opened)
        tr._head()
        closes = tr._closes
        closes.clear()
        for i in range(self.closes.n):
            c = <Closed*>ring_at(&self.closes, i)
            closes.append((c.t, c.conn, bool(c.rst)))
        self.write_frees(&self.fin, tr._fin)
        self.write_frees(&self.rst, tr._rst)
        if self.kind == SNAT:
            owner = tr._owner
            owner.clear()
            for pool in range(self.n_pools):
                if self.owners[pool] == NULL:
                    continue
                for j in range(self.size):
                    if self.owners[pool][j].conn >= 0:
                        o = &self.owners[pool][j]
                        owner[pool * self.size + j] = (o.host, o.port, o.conn)
        self.opened.n = self.closes.n = self.fin.n = self.rst.n = 0
        self.alive = 0
        return 0

    cdef int write_frees(self, Ring* ring, object queue) except -1:
        cdef Py_ssize_t i
        cdef Freeing* f
        queue.clear()
        for i in range(ring.n):
            f = <Freeing*>ring_at(ring, i)
            queue.append((f.t, f.token, f.unit, f.conn, f.host))
        return 0

    # ------------------------------------------------------------ levels

    cdef inline void level(self, int unit, double now, int64_t busy, int64_t cooling) noexcept:
        """``Translator._level``."""
        cdef int64_t b, c, total
        if busy:
            b = self.busy[unit] + busy
            self.busy[unit] = b
            self.moment_busy[unit] += busy * now
            if b > self.peak_busy[unit]:
                self.peak_busy[unit] = b
            total = self.total_busy + busy
            self.total_busy = total
            if total > self.peak_total_busy:
                self.peak_total_busy = total
        if cooling:
            c = self.cooling[unit] + cooling
            self.cooling[unit] = c
            self.moment_cooling[unit] += cooling * now
            if c > self.peak_cooling[unit]:
                self.peak_cooling[unit] = c
            total = self.total_cooling + cooling
            self.total_cooling = total
            if total > self.peak_total_cooling:
                self.peak_total_cooling = total

    # ------------------------------------------------------------ QuotaTranslator

    cdef int64_t quota_take(self, int host, int dst, int* unit) except -2:
        cdef int key = dst if self.keys > 1 else 0
        cdef int64_t cell
        cdef int i, u, start
        if self.host_scoped:
            cell = host * self.keys + key
            unit[0] = host
            if self.pool_held[cell] >= self.cap[host] and self.grow:
                self.quota_expand(host)
            if self.pool_held[cell] < self.cap[host] and self.live[cell] < self.busy_cap:
                return self.quota_use(cell)
            return -1
        start = <int>next(self.starts) if self.starts is not None else 0
        for i in range(self.units):
            u = (start + i) % self.units
            cell = u * self.keys + key
            if self.pool_held[cell] < self.cap[u] and self.live[cell] < self.busy_cap:
                unit[0] = u
                return self.quota_use(cell)
        unit[0] = start
        return -1

    cdef inline int64_t quota_use(self, int64_t cell) noexcept:
        self.live[cell] += 1
        self.pool_held[cell] += 1
        if self.host_scoped:
            self.key_held[cell % self.keys] += 1
        return cell

    cdef void quota_expand(self, int host) noexcept:
        cdef int64_t cap = self.cap[host]
        if cap * 2 <= self.max_ports and self.spare >= cap:
            self.spare -= cap
            self.cap[host] = cap * 2
            self.cap_total += cap

    cdef double quota_free_elsewhere(self, int dst, int unit) noexcept:
        """``QuotaTranslator.free_elsewhere``; -1 for None."""
        cdef int key
        cdef int64_t others, held
        cdef double share
        if not self.host_scoped or self.units < 2:
            return -1.0
        key = dst if self.keys > 1 else 0
        others = self.cap_total - self.cap[unit]
        held = self.key_held[key] - self.pool_held[unit * self.keys + key]
        if others <= 0:
            return -1.0
        share = <double>(others - held) / <double>others
        return share if share > 0.0 else 0.0

    # ------------------------------------------------------------ LinuxSnatTranslator

    cdef int snat_address(self, int host, int dst) noexcept:
        cdef uint64_t x
        if self.units == 1:
            return 0
        x = ((<uint64_t>host + 1) * MIX0) ^ self.salt
        if not self.persistent:
            x ^= (<uint64_t>dst + 1) * MIX1
        x = (x * MIX2) & <uint64_t>0xFFFFFFFF
        return <int>((x >> 8) % <uint64_t>self.units)

    cdef int snat_pool(self, Py_ssize_t pool) except -1:
        """The pool's state bytes (the Python translator's own bytearray) and owners, made on first use."""
        cdef unsigned char[::1] byte_view
        cdef Py_ssize_t j
        tr = self.tr
        states = tr._states.get(pool)
        if states is None:
            states = tr._states[pool] = bytearray(self.size)
            tr._used[pool] = 0
        byte_view = states
        self.keep.append(byte_view)
        self.states[pool] = &byte_view[0]
        self.owners[pool] = <Owner*>malloc(self.size * sizeof(Owner))
        if self.owners[pool] == NULL:
            raise MemoryError()
        for j in range(self.size):
            self.owners[pool][j].conn = -1
        return 0

    cdef int64_t snat_take(self, int64_t conn, int host, int port, int dst, double now, int* unit) except -2:
        cdef int u = self.snat_address(host, dst)
        cdef Py_ssize_t pool = u * self.n_dest + dst
        cdef Py_ssize_t keep, size = self.size, index, attempts, i, j
        cdef int64_t probes, offset
        cdef unsigned char* states
        cdef unsigned char state
        cdef bint evicted = False
        unit[0] = u
        if self.states[pool] == NULL:
            self.snat_pool(pool)
        states = self.states[pool]
        keep = port - self.snat_low if self.snat_low <= port <= self.snat_high else -1
        if keep >= 0 and not self.fully_random and states[keep] == SNAT_CLOSING:
            if self.owners[pool][keep].host == host and self.owners[pool][keep].port == port:
                push_q(self.probes, 1)
                self.level(u, now, 0, -1)
                self.host_held[host] -= 1
                self.host_cooling[host] -= 1
                states[keep] = SNAT_BUSY
                self.owners[pool][keep].conn = conn
                return pool * size + keep
        # SnatSearch.pick
        index = -1
        if keep >= 0 and not self.fully_random and states[keep] == SNAT_FREE:
            index = keep
            probes = 1
        else:
            attempts = size if size < SNAT_FIRST_ROUND else SNAT_FIRST_ROUND
            probes = 0
            while True:
                offset = <int64_t>next(self.offsets)
                for i in range(attempts):
                    probes += 1
                    j = ((offset + i) & 0xFFFF) % size  # the kernel's offset is a u16 that wraps
                    state = states[j]
                    if state == SNAT_FREE:
                        index = j
                        break
                    if state == SNAT_CLOSING and attempts - i <= SNAT_HARDER and self.coins.random() < self.evict:
                        index = j
                        evicted = True
                        break
                if index >= 0 or attempts >= size or attempts < 2 * SNAT_LAST_ROUND:
                    break
                attempts //= 2
        push_q(self.probes, probes)
        if index < 0:
            if self.used[pool] < size:
                self.with_free += 1
            return -1
        if evicted:
            self.evicted += 1
            self.level(u, now, 0, -1)
            self.host_held[self.owners[pool][index].host] -= 1
            self.host_cooling[self.owners[pool][index].host] -= 1
        else:
            self.used[pool] += 1
        states[index] = SNAT_BUSY
        self.owners[pool][index].conn = conn
        self.owners[pool][index].host = host
        self.owners[pool][index].port = port
        return pool * size + index

    cdef bint snat_room_elsewhere(self, int dst, int unit) noexcept:
        cdef int u
        for u in range(self.units):
            if u != unit and self.used[u * self.n_dest + dst] < self.size:
                return True
        return False

    # ------------------------------------------------------------ events

    cdef inline void cool(self, int64_t token) noexcept:
        """``_cool``."""
        if self.kind == QUOTA:
            self.live[token] -= 1
        else:
            self.states[token // self.size][token % self.size] = SNAT_CLOSING

    cdef inline bint release(self, int64_t token, int64_t conn, bint cooled) noexcept:
        """``_free``."""
        cdef Py_ssize_t pool, j
        if self.kind == QUOTA:
            if not cooled:
                self.live[token] -= 1
            self.pool_held[token] -= 1
            if self.host_scoped:
                self.key_held[token % self.keys] -= 1
            return True
        pool = token // self.size
        j = token % self.size
        if self.owners[pool][j].conn != conn:
            return False
        self.owners[pool][j].conn = -1
        self.states[pool][j] = SNAT_FREE
        self.used[pool] -= 1
        return True

    cdef int map(self, int64_t conn, int host, int port, int dst, double now) except -1:
        """``Translator.map``: 1 when mapped, 0 when the translator drops the SYN."""
        cdef int unit = 0
        cdef int64_t token
        cdef double share
        cdef Mapping* m
        self.attempts += 1
        if self.kind == QUOTA:
            token = self.quota_take(host, dst, &unit)
        else:
            token = self.snat_take(conn, host, port, dst, now, &unit)
        if token < 0:
            self.failures += 1
            self.unit_failures[unit] += 1
            self.host_failures[host] += 1
            if self.kind == QUOTA:
                share = self.quota_free_elsewhere(dst, unit)
                if not self.with_room[host] and share > 0.0:
                    self.with_room[host] = 1
                if share >= 0.0:
                    self.free_share_sum += share
                    self.free_share_n += 1
            elif not self.with_room[host] and self.snat_room_elsewhere(dst, unit):
                self.with_room[host] = 1
            return 0
        self.level(unit, now, 1, 0)
        self.host_held[host] += 1
        m = <Mapping*>ring_push(&self.opened)
        m.conn = conn
        m.token = token
        m.opened = now
        m.unit = unit
        m.host = host
        m.alive = 1
        self.alive += 1
        return 1

    cdef int closed(self, int64_t conn, double now, bint rst) except -1:
        """``Translator.closed``."""
        cdef Closed* c = <Closed*>ring_push(&self.closes)
        c.t = now
        c.conn = conn
        c.rst = rst
        return 0

    cdef Mapping* find(self, int64_t conn) noexcept:
        """The open mapping of ``conn`` (the ring is in connection order), NULL when not open."""
        cdef Py_ssize_t lo = 0, hi = self.opened.n, mid
        cdef Mapping* m
        if hi == 0:
            return NULL
        # where it is unless a translator drop or a compaction left a gap: connection ids count up by one
        mid = conn - (<Mapping*>ring_at(&self.opened, 0)).conn
        if 0 <= mid < hi:
            m = <Mapping*>ring_at(&self.opened, mid)
            if m.conn == conn:
                return m if m.alive else NULL
        while lo < hi:
            mid = (lo + hi) >> 1
            if (<Mapping*>ring_at(&self.opened, mid)).conn < conn:
                lo = mid + 1
            else:
                hi = mid
        if lo == self.opened.n:
            return NULL
        m = <Mapping*>ring_at(&self.opened, lo)
        return m if m.conn == conn and m.alive else NULL

    cdef void trim(self) noexcept:
        """Drop closed mappings from the head of the ring; compact it when it is large and mostly closed ones
        (a long-lived mapping at its head keeps the ones behind it)."""
        cdef Ring* r = &self.opened
        cdef Py_ssize_t i, j
        cdef Mapping* m
        while r.n and not (<Mapping*>ring_at(r, 0)).alive:
            ring_pop(r)
        if r.n > self.compact_at and r.n > 8 * self.alive:
            j = 0
            for i in range(r.n):
                m = <Mapping*>ring_at(r, i)
                if m.alive:
                    if i != j:
                        (<Mapping*>ring_at(r, j))[0] = m[0]
                    j += 1
            r.n = j
            self.compactions += 1

    cdef int advance(self, double now) except -1:
        """``Translator.advance``: every close, free and idle drop due by ``now``, in time order."""
        cdef double t, t_close, t_idle, after
        cdef Closed c
        cdef Freeing f
        cdef Mapping* m
        cdef Freeing* queued
        cdef Ring* queue
        while True:
            t_close = (<Closed*>ring_at(&self.closes, 0)).t if self.closes.n else INF
            t_idle = (<Mapping*>ring_at(&self.opened, 0)).opened + self.idle if self.opened.n else INF
            t = t_close if t_close < t_idle else t_idle
            if self.fin.n and (<Freeing*>ring_at(&self.fin, 0)).t < t:
                t = (<Freeing*>ring_at(&self.fin, 0)).t
            if self.rst.n and (<Freeing*>ring_at(&self.rst, 0)).t < t:
                t = (<Freeing*>ring_at(&self.rst, 0)).t
            if t > now:
                return 0
            if t == t_idle and t < t_close:
                m = <Mapping*>ring_at(&self.opened, 0)
                f.token, f.unit, f.host, f.conn = m.token, m.unit, m.host, m.conn
                m.alive = 0
                self.alive -= 1
                self.trim()
                self.idle_timeouts += 1
                self.level(f.unit, t, -1, 0)
                if self.release(f.token, f.conn, False):
                    self.host_held[f.host] -= 1
            elif t == t_close:
                c = (<Closed*>ring_at(&self.closes, 0))[0]
                ring_pop(&self.closes)
                m = self.find(c.conn)
                if m == NULL:  # dropped while idle
                    continue
                f.token, f.unit, f.host, f.conn = m.token, m.unit, m.host, m.conn
                m.alive = 0
                self.alive -= 1
                self.trim()
                after = self.after_rst if c.rst else self.after_fin
                self.cool(f.token)
                if not after:
                    self.level(f.unit, t, -1, 0)
                    if self.release(f.token, f.conn, True):
                        self.host_held[f.host] -= 1
                    continue
                self.level(f.unit, t, -1, 1)
                self.host_cooling[f.host] += 1
                queued = <Freeing*>ring_push(&self.rst if c.rst else &self.fin)
                queued[0] = f
                queued.t = t + after
            else:
                queue = &self.fin if self.fin.n and (<Freeing*>ring_at(&self.fin, 0)).t == t else &self.rst
                f = (<Freeing*>ring_at(queue, 0))[0]
                ring_pop(queue)
                if self.release(f.token, f.conn, True):
                    self.level(f.unit, t, 0, -1)
                    self.host_held[f.host] -= 1
                    self.host_cooling[f.host] -= 1


cdef class Batch:
    """The model's calendar and hot path in C, attached to one ``PortModel`` (see the module docstring)."""

    cdef object model, lifecycle, pool, recorder, policy, levels, port_map, every_tick
    cdef list keep, drivers_durations, drivers_pick, drivers_source
    cdef array.array probes_buf, occupancy_buf, pairs_buf, offsets_buf, reuse_buf
    cdef list first_failure, times, drivers
    cdef public bint attached
    cdef public long count
    cdef readonly Nat nat
    cdef object fallback
    cdef char* reset
    cdef int hooks
    cdef long tick_mask
    # calendar
    cdef End* heap
    cdef Py_ssize_t heap_n, heap_cap
    cdef Wait* ring
    cdef Py_ssize_t ring_head, ring_n, ring_cap
    # pool
    cdef int size, n_dest, n_keys, n_workloads, sharing, n_sources
    cdef double usable
    cdef unsigned char** views
    cdef double** released
    cdef unsigned int** refs
    cdef unsigned char** local
    cdef int* offsets
    cdef int64_t* busy
    cdef int64_t* in_use
    cdef int64_t* source_tw
    cdef int64_t ports_in_use
    cdef double port_moment
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
        self.refs = NULL
        self.local = NULL
        self.in_use = NULL
        self.source_tw = NULL
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
        self.reset = NULL
        self.next_t = NULL
        self.stream_class = NULL

    def __dealloc__(self):
        free(self.heap)
        free(self.ring)
        free(self.views)
        free(self.released)
        free(self.refs)
        free(self.local)
        free(self.offsets)
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
        free(self.reset)
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
        self.recorder.walk_with(fold_pairs)
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
        self.n_sources = pool.n_sources
        self.n_workloads = len(model.drivers)
        self.usable = pool._usable
        cells = self.n_sources * self.n_keys
        self.views = <unsigned char**>malloc(cells * sizeof(unsigned char*))
        self.released = <double**>malloc(cells * sizeof(double*))
        self.refs = <unsigned int**>malloc(self.n_sources * sizeof(unsigned int*))
        self.local = <unsigned char**>malloc(self.n_sources * sizeof(unsigned char*))
        if self.views == NULL or self.released == NULL or self.refs == NULL or self.local == NULL:
            raise MemoryError()
        # per source and per (source, key): the pool's own typed arrays, shared
        self.in_use = shared_q(self.keep, pool.in_use)
        self.source_tw = shared_q(self.keep, self.levels.source_time_wait)
        self.busy = shared_q(self.keep, pool._busy)
        for i in range(cells):
            self.views[i] = NULL  # a (source, key)'s bytes are made the first time it connects (``view``)
            self.released[i] = NULL
        for i in range(self.n_sources):
            uint_view = pool.refs[i]
            self.keep.append(uint_view)
            self.refs[i] = &uint_view[0]
            byte_view = pool.local[i]
            self.keep.append(byte_view)
            self.local[i] = &byte_view[0]
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
        self.reset = <char*>malloc(w)
        self.drivers = model.drivers
        codes = self.lifecycle.rules.close_codes
        for i in range(w):
            self.dest0[i] = self.drivers[i].destinations[0]
            self.at_once[i] = codes[i] == AT_ONCE
            self.reset[i] = self.drivers[i].spec.close == "reset"
        layer = model.nat
        self.nat = None if layer is None else Nat(layer, model.groups[0].host.source_addresses, model.space.low)
        self.hooks = len(self.lifecycle.hooks.closed)  # the close hooks it runs itself: the translator's
        if layer is None:
            lifecycle = self.lifecycle
            self.fallback = lambda now: type(lifecycle).advance(lifecycle, now)
        else:
            self.fallback = layer.advance
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
            self.dest_hash = <uint64_t*>malloc(self.n_sources * n * sizeof(uint64_t))
            self.hash_valid = <char*>malloc(self.n_sources * n)
            if self.dest_hash == NULL or self.hash_valid == NULL:
                raise MemoryError()
            memset(self.hash_valid, 0, self.n_sources * n)
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
        self.ports_in_use = pool.ports_in_use
        self.port_moment = pool._port_moment
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
        if self.nat is not None:
            self.nat.load()
        # the workloads' own random streams, as the Python model would read them now
        self.drivers_durations = [d.durations for d in self.drivers]
        self.drivers_pick = [d.pick_destination for d in self.drivers]
        self.drivers_source = [d.pick_source for d in self.drivers]

    cdef void store(self) except *:
        """Write the counters back to the Python objects."""
        cdef Py_ssize_t i
        pool, levels, rec = self.pool, self.levels, self.recorder
        pool.ports_in_use = self.ports_in_use
        pool._port_moment = self.port_moment
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
        if self.nat is not None:
            self.nat.store()

    cdef tuple connection(self, int64_t ident, int src, int dst, int slot, int cls, double opened):
        return (src, dst, slot, cls, ident, opened)

    cdef unsigned char* view(self, int src, int key) except NULL:
        """``PortPool.view``: the usability bytes of (source, key), made on first use."""
        cdef Py_ssize_t cell = src * self.n_keys + key
        cdef unsigned char[::1] byte_view
        cdef double[::1] double_view
        if self.views[cell] == NULL:
            pool = self.pool
            pool.view(src, key)
            byte_view = pool._views[src][key]
            self.keep.append(byte_view)
            self.views[cell] = &byte_view[0]
            double_view = pool._released[src][key]
            self.keep.append(double_view)
            self.released[cell] = &double_view[0]
        return self.views[cell]

    def still_open(self, double now):
        """``Lifecycle.still_open`` over the calendar it holds (a run ends with it here): the measured seconds, up to
        ``now``, of the ESTABLISHED and TIME_WAIT intervals not yet ended, added in the order the Python calendar
        holds them after ``handover`` (so the same sums to the last bit). The compiled path runs no FIN_WAIT2, no
        tw_reuse and no connection without a scheduled close."""
        cdef double w = self.levels.window_start, established = 0.0, time_wait = 0.0
        cdef Py_ssize_t i
        cdef End* e
        cdef Wait* q
        if now <= w:
            return 0.0, 0.0, 0.0
        for i in range(self.heap_n):
            e = &self.heap[i]
            established += now - (e.opened if e.opened > w else w)
        for i in range(self.ring_n):
            q = &self.ring[(self.ring_head + i) & (self.ring_cap - 1)]
            time_wait += now - (q.since if q.since > w else w)
        return established, time_wait, 0.0

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
        collecting = gc.isenabled()
        gc.disable()  # millions of tuples, none in a cycle: the collector would walk them over and over
        try:
            for i in range(self.heap_n):
                e = &self.heap[i]
                ends.append((e.t, e.ident, self.connection(e.ident, e.src, e.dst, e.slot, e.cls, e.opened)))
            time_waits = calendar.time_waits
            time_waits.clear()
            for i in range(self.ring_n):
                w = &self.ring[(self.ring_head + i) & (self.ring_cap - 1)]
                time_waits.append((w.expiry, self.connection(w.ident, w.src, w.dst, w.slot, w.cls, w.opened), w.since))
        finally:
            if collecting:
                gc.enable()
        if self.nat is not None:
            self.nat.handover()
        self.heap_n = 0
        self.ring_n = 0
        self.attached = False
        self.model.batch = None
        return 0

    # ------------------------------------------------------------ calendar

    cdef int push_end(self, double t, int64_t ident, int src, int dst, int slot, int cls, double opened) except -1:
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
        item.src = src
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
        w.src = e.src
        w.dst = e.dst
        w.slot = e.slot
        w.cls = e.cls
        self.ring_n += 1
        return 0

    # ------------------------------------------------------------ the lifecycle

    cdef inline void release(self, int src, int dst, Py_ssize_t slot, double t) noexcept:
        """``PortPool.release`` of a 4-tuple not bound."""
        cdef unsigned int r
        cdef Py_ssize_t cell = src * self.n_keys + (dst if self.sharing else 0)
        self.views[cell][slot] = 0
        self.busy[cell] -= 1
        self.released[cell][slot] = t
        # with one sharing key a port carries at most one 4-tuple: its count is 1 here, and need not be read
        r = 0 if self.n_keys == 1 else self.refs[src][slot] - 1
        self.refs[src][slot] = r
        if r == 0:
            self.local[src][slot] = 0
            self.in_use[src] -= 1
            self.ports_in_use -= 1
            self.port_moment += t

    cdef int advance_to(self, double now) except -1:
        """``Lifecycle._advance_simple``: closes and TIME_WAIT expiries due by ``now``; 1 when it handed over."""
        cdef double t, next_end, expires, closed
        cdef int dst, slot
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
                self.source_tw[w.src] -= 1
                self.time_wait -= 1
                if t > self.window:
                    self.seconds_time_wait += t - (closed if closed > self.window else self.window)
                self.dest_tw[dst] -= 1
                self.dest_held[dst] -= 1
                self.release(w.src, dst, slot, t)
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
                if self.nat is not None:  # the translator's close hook (NatLayer._closed)
                    self.nat.closed(e.ident, t, self.reset[e.cls])
                if at_once:  # the peer closed first, or an RST: the 4-tuple is free at once (Transitions.end)
                    self.dest_held[dst] -= 1
                    self.release(e.src, dst, e.slot, t)
                    continue
                self.views[e.src * self.n_keys + (dst if self.sharing else 0)][e.slot] = TIME_WAIT
                self.source_tw[e.src] += 1
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

    cdef uint64_t linux_hash(self, int src, int dst, double now) except? 0:
        cdef double previous = self.epoch_end
        cdef Py_ssize_t pair = src * self.n_dest + dst
        h = self.policy.destination_hash(src, dst, now)
        self.epoch_end = self.policy._epoch_end
        if self.epoch_end != previous:
            memset(self.hash_valid, 0, self.n_sources * self.n_dest)
        self.dest_hash[pair] = h
        self.hash_valid[pair] = 1
        return self.dest_hash[pair]

    cdef Py_ssize_t linux_connect(self, unsigned char* v, int src, int dst, double now, int64_t* probes) except -2:
        """``Linux.connect`` on an even-sized range."""
        cdef uint64_t h, index, offset
        cdef Py_ssize_t j0, found, before, half = self.half, size = self.size, start
        cdef Py_ssize_t pair = src * self.n_dest + dst
        cdef int64_t i, noise
        if now < self.epoch_end and self.hash_valid[pair]:
            h = self.dest_hash[pair]
        else:
            h = self.linux_hash(src, dst, now)
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
        self.table[index] = (self.table[index] + <uint64_t>i + 2) & <uint64_t>0xFFFFFFFF
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

    cdef int advance_all(self, double now) except -1:
        """``PortModel.advance``: the lifecycle's closes and expiries, then (``NatLayer.advance``) the translator's
        events and the host ports of dropped SYNs due by ``now``; 1 when it handed over."""
        if self.heap_n or self.ring_n:
            if self.advance_to(now):
                return 1
        if self.nat is not None:
            self.nat.advance(now)
            held = self.nat.held
            while held and held[0][0] <= now:
                t, c = held.popleft()
                self.release(c[0], c[1], c[2], t)
        return 0

    cdef int attempt(self, int w, double now) except -1:
        """``PortModel.attempt`` (through ``NatLayer.connect`` when there is a translator) for workload ``w`` at
        ``now``; 1 when it handed over before starting it."""
        cdef int src = 0, dst, key
        cdef unsigned int refs
        cdef Py_ssize_t slot, start, cell
        cdef int64_t probes = 0
        cdef double occupancy, last, interval, end
        cdef unsigned char* v
        if self.advance_all(now):
            return 1
        pick = self.drivers_source[w]
        if pick is not None:
            src = <int>next(pick)
        pick = self.drivers_pick[w]
        dst = self.dest0[w] if pick is None else <int>next(pick)
        key = dst if self.sharing else 0
        cell = src * self.n_keys + key
        v = self.views[cell]
        if v == NULL:
            v = self.view(src, key)
        occupancy = self.busy[cell] / self.usable
        if self.kind == LINUX:
            slot = self.linux_connect(v, src, dst, now, &probes)
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
                self.port_map.failed(src, dst, now)
            return 0
        # PortPool.take, not bound, nothing to recycle
        v[slot] = ESTABLISHED
        self.busy[cell] += 1
        # one 4-tuple per port with one sharing key (``release``): the port was free, its count 0
        refs = 1 if self.n_keys == 1 else self.refs[src][slot] + 1
        self.refs[src][slot] = refs
        if refs == 1:
            self.local[src][slot] = 1
            self.in_use[src] += 1
            self.ports_in_use += 1
            self.port_moment -= now
        last = self.released[cell][slot]
        interval = -1.0 if last == NEVER else now - last
        # Recorder.connected
        self.successes[w] += 1
        self.dest_successes[dst] += 1
        push_q(self.pairs_buf, src * self.n_dest + dst)
        push_q(self.offsets_buf, self.offsets[slot])
        if self.ports_in_use > self.peak_ports:
            self.peak_ports = self.ports_in_use
        if interval >= 0:
            push_d(self.reuse_buf, interval)
        self.next_id += 1
        if self.nat is not None and not self.nat.map(
            self.next_id, src // self.nat.per_host, self.nat.low + self.offsets[slot], dst, now
        ):
            self.translator_failed(w, dst, now)
            self.nat.held.append((now + self.nat.timeout, self.connection(self.next_id, src, dst, <int>slot, w, now)))
            return 0
        # Lifecycle.open
        end = now + <double>next(self.drivers_durations[w])
        self.push_end(end, self.next_id, src, dst, <int>slot, w, now)
        self.established += 1
        if self.established > self.peak_established:
            self.peak_established = self.established
        self.dest_held[dst] += 1
        if self.dest_held[dst] > self.dest_peak_held[dst]:
            self.dest_peak_held[dst] = self.dest_held[dst]
        return 0

    cdef int translator_failed(self, int w, int dst, double now) except -1:
        """``Recorder.translator_failed``."""
        rec = self.recorder
        self.successes[w] -= 1
        self.dest_successes[dst] -= 1
        self.failures[w] += 1
        self.dest_failures[dst] += 1
        rec.translator_failures[w] += 1
        rec.dest_translator_failures[dst] += 1
        if not self.failed_once[w]:
            self.failed_once[w] = 1
            self.first_failure[w] = now
        return 0

    # ------------------------------------------------------------ entry points

    cdef bint keeps(self) except -1:
        """Whether it still covers the run: no layer has subscribed to the lifecycle since it attached (else it
        hands over now, before any close or expiry the subscriber must be told about)."""
        hooks = self.lifecycle.hooks
        if self.attached and (len(hooks.closed) != self.hooks or hooks.released or not self.lifecycle._fast):
            self.detach()
        return self.attached

    def advance(self, double now):
        """``PortModel.advance`` while attached (and after it, the Python layers')."""
        if not self.keeps():
            self.fallback(now)
            return
        self.load()
        if self.advance_all(now):
            self.fallback(now)
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
