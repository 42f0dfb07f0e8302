#!/usr/bin/env python3
"""Probe live Linux netfilter SNAT behaviour inside private network namespaces.

Topology (all private netns, removed at exit):
  natp-c  10.9.0.1/24, 10.9.0.2/24 (client)  --veth c0/r0--
  natp-r  10.9.0.254 | 10.8.0.254 (router, nft SNAT in postrouting, oif r1)
  natp-s  10.8.0.1/24, 10.8.0.2/24 (server: listens on .1:80, .1:81, .2:80)  --veth s0/r1--

Usage: python3 probe.py [exp ...]
  exps: q1 q2 q3 q4 q4syn q5 q5e q5f q6 q8 sim (default set, ~10 min, mostly idle waits)
        q7 (opt-in: fills the router netns's conntrack table to the global nf_conntrack_max via ctnetlink,
            ~20 s of one CPU and ~80 MB kernel memory; nothing outside the private netns is changed)
Results: results.json beside this script (merged per experiment), log on stdout.
Every loop is bounded in count; every wait has a timeout.
"""
import ctypes, json, os, random, re, select, socket, struct, subprocess, sys, threading, time

C, R, S = "natp-c", "natp-r", "natp-s"
A, A2, B = ("10.8.0.1", 80), ("10.8.0.1", 81), ("10.8.0.2", 80)
NATIP = "10.8.0.254"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
TCP_SYNCNT = 7
_fds = {}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def run(cmd, ns=None, check=True, timeout=60):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + (["sh", "-c", cmd] if isinstance(cmd, str) else cmd)
    elif isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{cmd}: rc={p.returncode} {p.stderr.strip()}")
    return p.stdout


def enter(ns):
    if ns not in _fds:
        _fds[ns] = os.open("/proc/self/ns/net" if ns == "host" else f"/run/netns/{ns}", os.O_RDONLY)
    if libc.setns(_fds[ns], CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns " + ns)


# ---------------------------------------------------------------- topology
def setup():
    enter("host")
    teardown(quiet=True)
    for ns in (C, R, S):
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "link", "add", "c0", "netns", C, "type", "veth", "peer", "name", "r0", "netns", R])
    run(["ip", "link", "add", "s0", "netns", S, "type", "veth", "peer", "name", "r1", "netns", R])
    for ns, dev, addrs in ((C, "c0", ["10.9.0.1/24", "10.9.0.2/24"]), (R, "r0", ["10.9.0.254/24"]),
                           (R, "r1", ["10.8.0.254/24"]), (S, "s0", ["10.8.0.1/24", "10.8.0.2/24"])):
        for a in addrs:
            run(["ip", "-n", ns, "addr", "add", a, "dev", dev])
        run(["ip", "-n", ns, "link", "set", dev, "up"])
    run(["ip", "-n", C, "route", "add", "default", "via", "10.9.0.254"])
    run(["ip", "-n", S, "route", "add", "default", "via", "10.8.0.254"])
    run("sysctl -qw net.ipv4.ip_forward=1", R)
    run("sysctl -qw net.core.somaxconn=16384", S)
    run("nft add table ip nat; nft add chain ip nat post '{ type nat hook postrouting priority srcnat; policy accept; }'", R)


def teardown(quiet=False):
    enter("host")
    for ns in (C, R, S):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def set_rule(spec):
    """spec e.g. '10.8.0.254:10000-10015 fully-random' -> nft snat rule (replaces previous), flush conntrack."""
    run("nft flush chain ip nat post", R)
    run(f"nft add rule ip nat post oifname r1 meta l4proto tcp counter snat to {spec}", R)
    run("conntrack -F", R, check=False)


def nft_packets():
    m = re.search(r"counter packets (\d+)", run("nft list chain ip nat post", R))
    return int(m.group(1)) if m else None


def ct_stats():
    tot = {}
    for line in run("conntrack -S", R).splitlines():
        for k, v in re.findall(r"(\w+)=(\d+)", line):
            if k != "cpu":
                tot[k] = tot.get(k, 0) + int(v)
    return tot


def ct_delta(a, b):
    return {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0)}


CTRE = re.compile(r"^tcp\s+6\s+(\d+)\s+(\S+)\s+src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+).*?"
                  r"src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)")


def ct_list():
    out = []
    for line in run("conntrack -L -p tcp 2>/dev/null", R, check=False).splitlines():
        m = CTRE.match(line)
        if m:
            g = m.groups()
            out.append(dict(timeout=int(g[0]), state=g[1], osrc=g[2], odst=g[3], osport=int(g[4]),
                            odport=int(g[5]), mapped=int(g[9]), assured="ASSURED" in line))
    return out


def tw_count(ns):
    return len(run("ss -Htan state time-wait", ns).splitlines())


# ---------------------------------------------------------------- sockets
LISTEN = {}


def make_listeners():
    enter(S)
    for addr in (A, A2, B):
        l = socket.socket()
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(addr)
        l.listen(16384)
        l.setblocking(False)
        LISTEN[addr] = l
    enter(C)  # main thread stays in the client netns from now on


class Conn:
    __slots__ = ("cs", "ss", "ok", "lport", "mapped", "mip", "dst", "dt", "err")


def connect(dst, src=None, sport=0, timeout=0.25, reuse=False, syncnt=None, keep_failed=False):
    c = Conn()
    c.dst, c.ss, c.mapped, c.mip = dst, None, None, None
    s = socket.socket()
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if syncnt:
        s.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, syncnt)
    if src or sport:
        s.bind((src or "0.0.0.0", sport))
    s.setblocking(False)
    t0 = time.perf_counter()
    s.connect_ex(dst)
    p = select.poll()
    p.register(s, select.POLLOUT)
    ev = p.poll(timeout * 1000)
    c.dt = time.perf_counter() - t0
    c.err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if ev else None
    c.ok = bool(ev) and c.err == 0
    c.lport = s.getsockname()[1]
    c.cs = s
    if c.ok:
        l = LISTEN[dst]
        pl = select.poll()
        pl.register(l, select.POLLIN)
        if pl.poll(500):
            c.ss, peer = l.accept()
            c.mip, c.mapped = peer
    elif not keep_failed:
        s.close()
        c.cs = None
    return c


def rst(sock):
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def kill_all(conns):
    for c in conns:
        rst(c.cs)
        rst(c.ss)
    conns.clear()


def wait_eof(sock, t=2.0):
    sock.setblocking(True)
    sock.settimeout(t)
    try:
        while sock.recv(4096):
            pass
        return True
    except OSError:
        return False


def close_client_first(c):
    c.cs.close()
    wait_eof(c.ss)
    c.ss.close()


def close_server_first(c):
    c.ss.close()
    wait_eof(c.cs)
    c.cs.close()


def fill(dst, max_attempts, stop_consec=10, stop_fail=40, timeout=0.25, **kw):
    conns, first_fail, fails, consec, att, fail_at = [], None, 0, 0, 0, []
    while att < max_attempts and consec < stop_consec and fails < stop_fail:
        att += 1
        c = connect(dst, timeout=timeout, **kw)
        if c.ok:
            conns.append(c)
            consec = 0
        else:
            fails += 1
            consec += 1
            fail_at.append(len(conns))
            if first_fail is None:
                first_fail = len(conns)
    return conns, dict(attempts=att, ok=len(conns), failures=fails, ok_before_first_failure=first_fail,
                       fail_at_occupancy=fail_at)


# ---------------------------------------------------------------- results
RES = {}


def save():
    old = {}
    if os.path.exists(OUT):
        with open(OUT) as f:
            old = json.load(f)
    old.update(RES)
    old["_kernel"] = os.uname().release
    with open(OUT, "w") as f:
        json.dump(old, f, indent=1)


# ---------------------------------------------------------------- experiments
def q1():
    r = {}
    modes = ["", "random", "fully-random", "persistent"]
    # (a) client ports (32768-60999) outside a 1000-port range 10000-10999
    for m in modes:
        set_rule(f"{NATIP}:10000-10999 {m}")
        conns = [connect(A) for _ in range(50)]
        ok = [c for c in conns if c.ok]
        mp = [c.mapped for c in ok]
        d = [(b - a) for a, b in zip(mp, mp[1:])]
        r[f"out_of_range_{m or 'default'}"] = dict(n=len(mp), distinct=len(set(mp)), mapped=mp,
                                                  client_ports=[c.lport for c in ok][:10],
                                                  deltas_abs_le_2=sum(1 for x in d if abs(x) <= 2))
        log("q1a", m or "default", len(mp), mp[:12])
        kill_all(conns)
    # (b) range containing client ports: 1024-65535 and no port range at all (ip only)
    for rng in ("10.8.0.254:1024-65535", "10.8.0.254"):
        for m in modes:
            set_rule(f"{rng} {m}")
            conns = [connect(A) for _ in range(50)]
            ok = [c for c in conns if c.ok]
            kept = sum(1 for c in ok if c.mapped == c.lport)
            r[f"in_range_{rng.split(':')[-1] if ':' in rng else 'noports'}_{m or 'default'}"] = dict(
                n=len(ok), kept=kept, sample=[(c.lport, c.mapped) for c in ok[:8]])
            log("q1b", rng, m or "default", "kept", kept, "/", len(ok))
            kill_all(conns)
    # (c) clash: 10.9.0.1:P and 10.9.0.2:P -> same dst; what does the 2nd get? (no port range / wide range)
    for rng in ("10.8.0.254", "10.8.0.254:1024-65535", "10.8.0.254:40000-40999"):
        set_rule(rng)
        rows = []
        for P in (100, 300, 550, 700, 1000, 40001, 40500, 50000, 60000):
            c1 = connect(A, src="10.9.0.1", sport=P, reuse=True)
            c2 = connect(A, src="10.9.0.2", sport=P, reuse=True)
            rows.append((P, c1.mapped, c2.mapped))
            kill_all([c1, c2])
        r[f"clash_{rng}"] = rows
        log("q1c", rng, rows)
    # (d) same client ip:port to two destinations (port outside range): same mapping reused?
    for m in ("", "fully-random"):
        set_rule(f"{NATIP}:10000-10999 {m}")
        rows = []
        for P in range(50001, 50011):
            c1 = connect(A, src="10.9.0.1", sport=P, reuse=True)
            c2 = connect(B, src="10.9.0.1", sport=P, reuse=True)
            c3 = connect(A2, src="10.9.0.1", sport=P, reuse=True)
            rows.append((P, c1.mapped, c2.mapped, c3.mapped))
            kill_all([c1, c2, c3])
        r[f"same_src_two_dst_{m or 'default'}"] = dict(rows=rows, same=sum(1 for x in rows if x[1] == x[2] == x[3]))
        log("q1d", m or "default", rows)
    RES["q1"] = r


def q2():
    r = {}
    for m in ("", "fully-random"):
        set_rule(f"{NATIP}:10000-10015 {m}")
        st0 = ct_stats()
        allc, row = [], {}
        for name, dst in (("A_10.8.0.1:80", A), ("A2_10.8.0.1:81", A2), ("B_10.8.0.2:80", B)):
            conns, info = fill(dst, 40, stop_consec=4)
            info["ports"] = sorted(c.mapped for c in conns)
            row[name] = info
            allc += conns
        again, info = fill(A, 3, stop_consec=3)
        row["A_again"] = info
        row["total_concurrent"] = len(allc)
        row["distinct_mapped_ports"] = len({c.mapped for c in allc})
        row["ct_stats_delta"] = ct_delta(st0, ct_stats())
        r[m or "default"] = row
        log("q2", m or "default", {k: (v["ok"] if isinstance(v, dict) and "ok" in v else v) for k, v in row.items()})
        kill_all(allc)
        kill_all(again)
    RES["q2"] = r


def q3():
    r = {}
    for N in (16, 256, 1024, 4096):
        for m in ("", "fully-random"):
            set_rule(f"{NATIP}:10000-{10000 + N - 1} {m}")
            st0 = ct_stats()
            t0 = time.time()
            conns, info = fill(A, N + 2000, stop_consec=20, stop_fail=60, timeout=0.25)
            info["secs"] = round(time.time() - t0, 1)
            info["free_ports_left"] = N - info["ok"]
            info["ct_stats_delta"] = ct_delta(st0, ct_stats())
            info["nft_packets"] = nft_packets()
            info["distinct"] = len({c.mapped for c in conns})
            r[f"N{N}_{m or 'default'}"] = info
            log("q3", N, m or "default", info)
            kill_all(conns)
            time.sleep(0.2)
    RES["q3"] = r


def q4(long=False):
    r = {}
    set_rule(f"{NATIP}:10000-10015")
    conns, info = fill(A, 40, stop_consec=3)
    r["filled"] = info["ok"]
    # (i) blocking connect with TCP_SYNCNT=2 (1+2+4 s) -> expect ETIMEDOUT after ~7 s
    for syn in ([2] + ([None] if long else [])):
        st0, n0 = ct_stats(), nft_packets()
        c = connect(A, timeout=200, syncnt=syn, keep_failed=True)
        row = dict(syncnt=syn or "sysctl default 6", ok=c.ok, secs=round(c.dt, 2),
                   errno=c.err, errname=os.strerror(c.err) if c.err else None,
                   nft_syn_packets=nft_packets() - n0, ct_stats_delta=ct_delta(st0, ct_stats()))
        rst(c.cs)
        r[f"fail_syncnt_{syn or 6}"] = row
        log("q4", row)
    # (ii) a port is freed while the 17th SYN is being retransmitted
    for how in ("client_rst", "client_rst", "client_rst", "client_fin", "client_fin", "client_fin"):
        kill_all(conns)
        time.sleep(0.1)
        set_rule(f"{NATIP}:10000-10015")
        conns, info = fill(A, 40, stop_consec=3)
        st0 = ct_stats()
        res = {}

        def bg():
            res["c"] = connect(A, timeout=40, syncnt=6, keep_failed=True)
        th = threading.Thread(target=bg)
        enter(C)
        th.start()  # the thread's sockets: we create it in C; threads inherit netns of creator at clone
        time.sleep(2.0)
        victim = conns.pop(0)
        if how == "client_rst":
            rst(victim.cs); rst(victim.ss)
        else:
            close_client_first(victim)
        time.sleep(0.1)
        vstate = [e for e in ct_list() if e["osport"] == victim.lport]
        th.join(45)
        c = res.get("c")
        row = dict(how=how, freed_at=2.0, ok=c.ok, connect_secs=round(c.dt, 2), mapped=c.mapped,
                   victim_mapped=victim.mapped, victim_ct=[(e["state"], e["timeout"]) for e in vstate],
                   ct_stats_delta=ct_delta(st0, ct_stats()))
        log("q4 retry", row)
        r.setdefault("freed_during_retry", []).append(row)
        if c.ok:
            conns.append(c)
        else:
            rst(c.cs)
    kill_all(conns)
    RES["q4long" if long else "q4"] = r


def retrans_segs():
    # main thread is in the client netns, so /proc/self/net/snmp is the client's
    with open("/proc/self/net/snmp") as f:
        l = [x.split() for x in f if x.startswith("Tcp:")]
    return int(l[1][l[0].index("RetransSegs")])


def q4syn():
    """SYN (re)transmission times while the NAT mapping keeps failing, until connect() gives up."""
    r = {}
    set_rule(f"{NATIP}:10000-10015")
    conns, info = fill(A, 40, stop_consec=3)
    for syn in (2, None):
        st0, n0 = ct_stats(), nft_packets()
        res = {}
        th = threading.Thread(target=lambda: res.setdefault("c", connect(A, timeout=150, syncnt=syn, keep_failed=True)))
        base = retrans_segs()
        t0 = time.perf_counter()
        th.start()
        times, last = [0.0], base
        while th.is_alive() and time.perf_counter() - t0 < 150:
            v = retrans_segs()
            if v != last:
                times += [round(time.perf_counter() - t0, 2)] * (v - last)
                last = v
            time.sleep(0.02)
        th.join(5)
        c = res["c"]
        row = dict(syncnt=syn or "sysctl 6", syn_times=times, fail_secs=round(c.dt, 2), errno=c.err,
                   nft_syn_packets=nft_packets() - n0, ct_stats_delta=ct_delta(st0, ct_stats()))
        rst(c.cs)
        r[f"syncnt_{syn or 6}"] = row
        log("q4syn", row)
    kill_all(conns)
    RES["q4syn"] = r


def q5e(reps=40):
    """One TIME_WAIT (FIN close) or CLOSE (RST) conntrack among 15 ESTABLISHED in a 16-port range:
    does the first SYN of a brand-new connection evict it (nf_nat_used_tuple_harder)?"""
    r = {}
    for how in ("fin", "rst"):
        set_rule(f"{NATIP}:10000-10015")
        conns, _ = fill(A, 20, stop_consec=3)
        ok = 0
        for _ in range(reps):
            v = conns.pop(0)
            if how == "fin":
                close_client_first(v)
            else:
                rst(v.cs); rst(v.ss)
            time.sleep(0.05)
            c = connect(A, timeout=0.25)
            if c.ok:
                ok += 1
                conns.append(c)
            else:
                run(f"conntrack -D -p tcp --orig-port-src {v.lport} 2>/dev/null", R, check=False)
                c = connect(A, timeout=0.25)
                if c.ok:
                    conns.append(c)
        r[how] = dict(reps=reps, first_syn_evicted=ok, still_16=len(conns))
        log("q5e", how, r[how])
        kill_all(conns)
    RES["q5e"] = r


def q5():
    r = {}
    txt = run("for f in /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_*; do echo $(basename $f) $(cat $f); done", R)
    r["sysctl_defaults"] = dict((a, int(b)) for a, b in (l.split() for l in txt.splitlines()))
    # (a) TIME_WAIT lifetime with tcp_timeout_time_wait=5
    run("sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=5", R)
    set_rule(f"{NATIP}:10000-10015")
    conns, _ = fill(A, 16, stop_consec=3)
    for c in conns:
        close_client_first(c)
    tclose = time.time()
    seen = []
    for _ in range(60):
        l = [e for e in ct_list() if e["state"] == "TIME_WAIT"]
        seen.append((round(time.time() - tclose, 2), len(l)))
        if not l:
            break
        time.sleep(0.25)
    r["tw5_lifetime_poll"] = seen
    log("q5 tw=5 poll", seen[:3], "...", seen[-3:])
    # reuse after expiry: 16 new connections all succeed?
    conns, info = fill(A, 20, stop_consec=3)
    r["tw5_after_expiry_fill"] = info
    kill_all(conns)
    run("sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=120", R)
    # (b) TIME_WAIT entries (120 s) vs new connections from NEW client ports (eviction by nf_nat_used_tuple_harder)
    for N in (16, 256):
        for rep in range(2):
            set_rule(f"{NATIP}:10000-{10000 + N - 1}")
            conns, info = fill(A, N + 5, stop_consec=3)
            for c in conns:
                close_client_first(c)
            time.sleep(0.3)
            ctl = ct_list()
            tw = sum(1 for e in ctl if e["state"] == "TIME_WAIT")
            st0 = ct_stats()
            t0 = time.time()
            new, info2 = fill(A, N + 40, stop_consec=10, stop_fail=40)
            ctl2 = ct_list()
            row = dict(N=N, tw_before=tw, tw_timer_sample=[e["timeout"] for e in ctl[:3]], new_ok=info2["ok"],
                       new_info=info2, secs=round(time.time() - t0, 1),
                       tw_after=sum(1 for e in ctl2 if e["state"] == "TIME_WAIT"),
                       est_after=sum(1 for e in ctl2 if e["state"] == "ESTABLISHED"),
                       ct_stats_delta=ct_delta(st0, ct_stats()))
            r.setdefault("tw_vs_new_ports", []).append(row)
            log("q5 tw evict", row)
            kill_all(new)
    # (c) control: conntrack entries in CLOSE (RST) state, 16-port range
    set_rule(f"{NATIP}:10000-10015")
    conns, _ = fill(A, 20, stop_consec=3)
    for c in conns:
        rst(c.cs); rst(c.ss)
    time.sleep(0.3)
    ctl = ct_list()
    new, info2 = fill(A, 30, stop_consec=6)
    r["close_vs_new_ports"] = dict(close_before=sum(1 for e in ctl if e["state"] == "CLOSE"),
                                   timers=[e["timeout"] for e in ctl[:3]], new=info2)
    log("q5 close evict", r["close_vs_new_ports"])
    kill_all(new)
    # (d) same original tuple (client binds same port) after close: conntrack TIME_WAIT re-open
    rows = []
    for rng, closer in (("10000-10015", "server_first"), ("10000-10015", "client_first"),
                        ("50000-50015", "server_first"), ("50000-50015", "client_first")):
        set_rule(f"{NATIP}:{rng}")
        P = 50005
        c1 = connect(A, src="10.9.0.1", sport=P, reuse=True)
        (close_server_first if closer == "server_first" else close_client_first)(c1)
        time.sleep(0.2)
        before = [(e["state"], e["mapped"]) for e in ct_list() if e["osport"] == P]
        twc = tw_count(C)
        c2 = connect(A, src="10.9.0.1", sport=P, reuse=True, timeout=5)
        after = [(e["state"], e["mapped"]) for e in ct_list() if e["osport"] == P]
        rows.append(dict(range=rng, closer=closer, ct_before=before, client_tw=twc, ok=c2.ok,
                         secs=round(c2.dt, 4), mapped_old=c1.mapped, mapped_new=c2.mapped, ct_after=after))
        log("q5 reopen", rows[-1])
        kill_all([c2])
    r["same_tuple_reopen"] = rows
    RES["q5"] = r


def q5f():
    """Large range, many TIME_WAIT entries but free ports left: are TIME_WAIT conntracks ever evicted?"""
    set_rule(f"{NATIP}:10000-11023")
    conns, info = fill(A, 512, stop_consec=5)
    for c in conns:
        close_client_first(c)
    time.sleep(0.3)
    tw0 = sum(1 for e in ct_list() if e["state"] == "TIME_WAIT")
    new, info2 = fill(A, 300, stop_consec=5)
    l = ct_list()
    RES["q5f"] = dict(range=1024, tw_before=tw0, new=info2["ok"], new_failures=info2["failures"],
                      tw_after=sum(1 for e in l if e["state"] == "TIME_WAIT"),
                      est_after=sum(1 for e in l if e["state"] == "ESTABLISHED"))
    log("q5f", RES["q5f"])
    kill_all(new)


def q8():
    """Several NAT addresses: which one is used, and is exhaustion per NAT IP?"""
    for i in range(250, 254):
        run(f"ip addr add 10.8.0.{i}/24 dev r1", R, check=False)
    for i in range(3, 9):
        run(f"ip addr add 10.9.0.{i}/24 dev c0", C, check=False)
    r = {}
    for m in ("", "persistent", "fully-random"):
        set_rule(f"10.8.0.250-10.8.0.254:10000-10015 {m}")
        pick = {}
        for i in range(1, 9):
            for name, dst in (("A", A), ("A2", A2), ("B", B)):
                ips = set()
                for _ in range(3):
                    c = connect(dst, src=f"10.9.0.{i}")
                    ips.add(c.mip)
                    kill_all([c])
                pick[f"10.9.0.{i}->{name}"] = sorted(ips)
        run("conntrack -F", R, check=False)
        conns, info = fill(A, 40, src="10.9.0.1", stop_consec=4)
        row = dict(nat_ip_choice=pick, fill_10_9_0_1_to_A=dict(ok=info["ok"], failures=info["failures"],
                                                                nat_ips=sorted({c.mip for c in conns})))
        r[m or "default"] = row
        log("q8", m or "default", row)
        kill_all(conns)
    RES["q8"] = r


def q6():
    r = []
    set_rule(f"{NATIP}:10000-10015")
    for how in ("client_first", "server_first", "client_rst", "server_rst", "client_shutdown_wr_only",
                "server_shutdown_wr_only", "established_idle"):
        run("conntrack -F", R, check=False)
        tw0 = (tw_count(C), tw_count(S))
        c = connect(A)
        if how == "client_first":
            close_client_first(c)
        elif how == "server_first":
            close_server_first(c)
        elif how == "client_rst":
            rst(c.cs); c.ss.close()
        elif how == "server_rst":
            rst(c.ss); c.cs.close()
        elif how == "client_shutdown_wr_only":
            c.cs.shutdown(socket.SHUT_WR)
        elif how == "server_shutdown_wr_only":
            c.ss.shutdown(socket.SHUT_WR)
        time.sleep(0.3)
        e = [(x["state"], x["timeout"]) for x in ct_list()]
        row = dict(how=how, conntrack=e, client_tw_new=tw_count(C) - tw0[0], server_tw_new=tw_count(S) - tw0[1])
        r.append(row)
        log("q6", row)
        kill_all([c])
        time.sleep(0.1)
    RES["q6"] = r


# ---- q7: table full. nf_conntrack_max is global (read-only in a netns), the count is per netns,
# so we fill OUR router netns up to the global max with ctnetlink-inserted entries instead of lowering it.
def _nla(t, payload):
    l = 4 + len(payload)
    return struct.pack("HH", l, t) + payload + b"\0" * ((4 - l % 4) % 4)


def _tuple(t, src, dst, sp, dp):
    ip = _nla(1, socket.inet_aton(src)) + _nla(2, socket.inet_aton(dst))
    pr = _nla(1, bytes([6])) + _nla(2, struct.pack("!H", sp)) + _nla(3, struct.pack("!H", dp))
    return _nla(t | 0x8000, _nla(1 | 0x8000, ip) + _nla(2 | 0x8000, pr))


def ct_insert(n, assured, base=1):
    """Insert n fake TCP entries 172.16.x.y:p -> 192.0.2.1:9 via raw ctnetlink (IPCTNL_MSG_CT_NEW)."""
    NLM_F_REQUEST, NLM_F_CREATE, NLM_F_EXCL, NLM_F_ACK = 1, 0x400, 0x200, 4
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    s.bind((0, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    errs, sent, seq = {}, 0, 0
    batch = []
    for i in range(n):
        k = base + i
        src = f"172.{16 + (k >> 24 & 0xf)}.{k >> 16 & 0xff}.{k >> 8 & 0xff}"
        sp = 1024 + (k & 0xff)
        body = struct.pack("BBH", socket.AF_INET, 0, 0)
        body += _tuple(1, src, "192.0.2.1", sp, 9) + _tuple(2, "192.0.2.1", src, 9, sp)
        body += _nla(3, struct.pack("!I", 0xE if assured else 0x8))  # CTA_STATUS (CONFIRMED[|ASSURED|SEEN_REPLY])
        body += _nla(4 | 0x8000, _nla(1 | 0x8000, _nla(1, bytes([3])) + _nla(4, b"\x0a\x0a") + _nla(5, b"\x0a\x0a")))  # ESTABLISHED
        body += _nla(7, struct.pack("!I", 600))  # CTA_TIMEOUT
        seq += 1
        hdr = struct.pack("IHHII", 16 + len(body), (1 << 8) | 0, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq, 0)
        batch.append(hdr + body)
        if len(batch) == 200 or i == n - 1:
            s.send(b"".join(batch))
            want = len(batch)
            batch = []
            got = 0
            while got < want:
                data = s.recv(1 << 20)
                off = 0
                while off < len(data):
                    ln, typ, fl, sq, pid = struct.unpack_from("IHHII", data, off)
                    if typ == 2:  # NLMSG_ERROR
                        e = struct.unpack_from("i", data, off + 16)[0]
                        errs[e] = errs.get(e, 0) + 1
                        got += 1
                    off += (ln + 3) & ~3
            sent += want
    s.close()
    return errs


def q7test():
    set_rule(f"{NATIP}:10000-14095")
    enter(R)
    t0 = time.time()
    errs = ct_insert(2000, True)
    dt = time.time() - t0
    enter(C)
    cnt = run("cat /proc/sys/net/netfilter/nf_conntrack_count", R)
    sample = run("conntrack -L 2>/dev/null | head -3", R)
    log("q7test", errs, round(dt, 2), cnt, sample)
    run("conntrack -F", R, check=False)


def q7():
    r = {}
    gmax = int(open("/proc/sys/net/netfilter/nf_conntrack_max").read())
    r["global_nf_conntrack_max"] = gmax
    set_rule(f"{NATIP}:10000-14095")
    for assured in (True, False):
        run("conntrack -F", R, check=False)
        enter(R)
        t0 = time.time()
        errs = ct_insert(gmax, assured)
        enter(C)
        cnt = int(run("cat /proc/sys/net/netfilter/nf_conntrack_count", R))
        st0, n0 = ct_stats(), nft_packets()
        conns, info = fill(A, 10, stop_consec=5, stop_fail=5, timeout=0.5)
        row = dict(assured=assured, insert_secs=round(time.time() - t0, 1), insert_errnos=errs, count_after_fill=cnt,
                   new_tcp=info, ct_stats_delta=ct_delta(st0, ct_stats()), nft_packets=nft_packets() - n0,
                   count_after=int(run("cat /proc/sys/net/netfilter/nf_conntrack_count", R)))
        # blocking connect with SYNCNT=1 on the full table: what does the client see?
        if assured:
            c = connect(A, timeout=10, syncnt=1, keep_failed=True)
            row["blocking_syncnt1"] = dict(ok=c.ok, secs=round(c.dt, 2), err=c.err)
            rst(c.cs)
        r["assured" if assured else "not_assured"] = row
        log("q7", row)
        kill_all(conns)
        run("conntrack -F", R, check=False)
    r["dmesg_tail"] = [l for l in run("dmesg 2>/dev/null | tail -n 50", check=False).splitlines() if "conntrack" in l][-5:]
    RES["q7"] = r


# ---------------------------------------------------------------- model of nf_nat_l4proto_unique_tuple
def sim_pick(used, N, rng, cnt):
    """used: set of busy ports (0..N-1). Exact probe order of the kernel loop (6.18 nf_nat_l4proto_unique_tuple).
    cnt['found'] counts busy probes with attempts_left > 32 (those go through nf_conntrack_tuple_taken,
    which increments the conntrack 'found' statistic; the last 32 of a round use the _harder path)."""
    attempts = min(N, 128)
    off = rng.getrandbits(16)
    while True:
        for i in range(attempts):
            p = off % N
            if p not in used:
                return p
            if attempts - i > 32:
                cnt["found"] += 1
            off = (off + 1) & 0xFFFF
        if attempts >= N or attempts < 16:
            return None
        attempts //= 2
        off = rng.getrandbits(16)


def sim_fill(N, reps, stop_consec=20, stop_fail=60, seed=1):
    rng = random.Random(seed)
    rows = []
    for _ in range(reps):
        used, fails, consec, first, att = set(), 0, 0, None, 0
        cnt = {"found": 0}
        while att < N + 2000 and consec < stop_consec and fails < stop_fail:
            att += 1
            p = sim_pick(used, N, rng, cnt)
            if p is None:
                fails += 1; consec += 1
                if first is None:
                    first = len(used)
            else:
                used.add(p); consec = 0
        rows.append((first, len(used), cnt["found"], att))
    return rows


def sim_rho(N, checkpoints=(0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998), trials=4000, seed=2):
    """Fill sequentially; at each occupancy checkpoint run `trials` picks without inserting."""
    rng = random.Random(seed)
    used, out, cps = set(), {}, list(checkpoints)
    cnt = {"found": 0}
    guard = 0
    while cps and guard < 4 * N:
        guard += 1
        if len(used) >= cps[0] * N:
            fails = sum(1 for _ in range(trials) if sim_pick(used, N, rng, cnt) is None)
            out[str(cps.pop(0))] = round(fails / trials, 4)
            continue
        p = sim_pick(used, N, rng, cnt)
        if p is not None:
            used.add(p)
    return out


def sim_churn(N, rhos=(0.9, 0.95, 0.98, 0.99, 0.995), trials=4000, seed=3):
    """Steady state: hold k = rho*N mappings; N times replace a random one (remove, then allocate anew)."""
    rng = random.Random(seed)
    out = {}
    cnt = {"found": 0}
    for rho in rhos:
        k = int(rho * N)
        used, lst, guard = set(), [], 0
        while len(used) < k and guard < 10 * N:
            guard += 1
            p = sim_pick(used, N, rng, cnt)
            if p is not None:
                used.add(p); lst.append(p)
        fails = 0
        for _ in range(N):
            i = rng.randrange(len(lst))
            used.discard(lst[i]); lst[i] = lst[-1]; lst.pop()
            p = None
            for _t in range(50):
                p = sim_pick(used, N, rng, cnt)
                if p is not None:
                    break
                fails += 1
            if p is not None:
                used.add(p); lst.append(p)
        f = sum(1 for _ in range(trials) if sim_pick(used, N, rng, cnt) is None)
        out[str(rho)] = dict(pfail=round(f / trials, 4), churn_fail_rate=round(fails / (N + fails), 4),
                             rho_pow_248=round(rho ** 248, 4))
    return out


def sim():
    r = {}
    for N in (4096, 64512):
        r[f"churn_N{N}"] = sim_churn(N)
        log("sim churn", N, r[f"churn_N{N}"])
    for N in (4096, 64512):
        r[f"pfail_vs_occupancy_N{N}"] = sim_rho(N)
        log("sim rho", N, r[f"pfail_vs_occupancy_N{N}"])
    for N, reps in ((16, 200), (256, 200), (1024, 100), (4096, 40)):
        rows = sim_fill(N, reps)
        f = sorted(x[0] for x in rows)
        o = sorted(x[1] for x in rows)
        q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
        fd = sorted(x[2] for x in rows)
        at = sorted(x[3] for x in rows)
        r[f"N{N}"] = dict(reps=reps, first_fail_median=q(f, .5), first_fail_p10=q(f, .1), first_fail_p90=q(f, .9),
                          final_ok_median=q(o, .5), final_ok_p10=q(o, .1), final_ok_p90=q(o, .9),
                          found_median=q(fd, .5), found_p10=q(fd, .1), found_p90=q(fd, .9), attempts_median=q(at, .5))
        log("sim", N, r[f"N{N}"])
    RES["sim"] = r


def main():
    exps = sys.argv[1:] or ["q1", "q2", "q3", "q4", "q4syn", "q5", "q5e", "q5f", "q6", "q8", "sim"]
    if exps == ["sim"]:
        sim(); save(); return
    setup()
    try:
        make_listeners()
        for e in exps:
            t0 = time.time()
            if e == "q4long":
                q4(long=True)
            else:
                globals()[e]()
            log(f"== {e} done in {time.time() - t0:.1f}s")
            save()
    finally:
        for l in LISTEN.values():
            l.close()
        teardown()
        log("namespaces removed:", run("ip netns list", check=False).strip() or "(none)")


if __name__ == "__main__":
    main()
