"""The benchmark scenarios. Each takes the Bench state, runs every target `reps` times in
alternating order (A B C A B C) and records samples into bench.results."""
import gzip
import http.client
import os
import shutil
import statistics
import subprocess
import time

import loadgen
import peers
import procs


class Bench:
    def __init__(self, ctx, backend, targets, results, opts):
        self.ctx = ctx
        self.backend = backend
        self.targets = targets          # list of Server (direct first)
        self.results = results
        self.opts = opts                # quick, reps, duration, ...

    def runnable(self):
        """Targets that are up; a dead one is restarted once, else marked n/a."""
        out = []
        for t in self.targets:
            if t.proc is not None and not t.proc.alive():
                reason = t.proc.log_tail(2)
                t.stop()
                if not t.start():
                    t.na = t.na or f"died during the run: {reason}"
            if t.proc is not None:
                out.append(t)
        return out

    def rounds(self, reps=None):
        """(rep, target) in A B C A B C order, skipping targets that are down."""
        for rep in range(reps or self.opts.reps):
            for t in self.runnable():
                yield rep, t

    def measure(self, target, run, counts_backend=True, backend=None):
        """Run `run()` (returns a loadgen dict) measuring the target's CPU and the backend's
        (default: the shared one) accepted connections and served requests. Adds cpu_us (per
        request), backend_per_1k and backend_requests to the dict."""
        backend = backend or self.backend
        pids = target.pids()
        stub0 = backend.stub_status() if counts_backend else None
        cpu0 = procs.cpu_seconds(pids)
        r = run()
        cpu1 = procs.cpu_seconds(pids)
        if r["requests"] > 0:
            r["cpu_us"] = 1e6 * (cpu1 - cpu0) / r["requests"]
        if counts_backend and r["requests"] > 0:
            stub1 = backend.stub_status()
            r["backend_per_1k"] = 1000.0 * (stub1[0] - stub0[0] - 1) / r["requests"]
            r["backend_requests"] = stub1[1] - stub0[1] - 1
        return r

    def record(self, prefix, target, r, keys=("rps", "cpu_us", "backend_per_1k",
                                               "client_cpu_pct")):
        """Record a run; more than 1% failed requests makes the whole run n/a."""
        if r.get("errors", 0) > 0.01 * max(r["requests"], 1):
            self.results.na_metric(prefix, target.name, f"{r['errors']} of {r['requests']} "
                                   "requests failed")
            return
        for k in keys:
            if k in r:
                self.results.add(f"{prefix}.{k}", target.name, r[k])
        if r.get("errors"):
            self.results.note(f"{prefix}: {target.name} had {r['errors']} failed requests "
                              f"of {r['requests']}")
        if "tls" in r:
            self.results.meta[f"{prefix}.tls.{target.name}"] = f"{r['tls']} alpn={r['alpn']}"

    def is_proxy(self, t):
        return t.name != "direct"


H1_FULL_REPS = 5


def http1_keepalive(b):
    """(1) wrk -t1 -c64 against each target, proxy pinned on the server CPU. The headline row:
    --full gives it at least H1_FULL_REPS repetitions (this VM drifts by 10-30% within
    minutes, and a median of three decides little at ratios near 1.0)."""
    d = b.opts.duration
    reps = max(b.opts.reps, H1_FULL_REPS) if b.opts.full else b.opts.reps
    b.results.meta["h1.repetitions"] = reps
    for _, t in b.rounds(reps):
        url = f"http://127.0.0.1:{t.http_port}/"
        try:
            warm_up(b, url, conns=64, h1=True)
            r = b.measure(t, lambda: loadgen.wrk(url, 64, d, b.ctx.client_cpus),
                          counts_backend=b.is_proxy(t))
            b.record("h1", t, r)
        except (RuntimeError, OSError, ValueError, AttributeError) as e:
            b.results.na_metric("h1", t.name, f"wrk failed: {e}")


H1U_WORKERS = 2


def http1_unpinned(b):
    """(1b) the whole-box question: for each target its own instance with H1U_WORKERS workers
    (nginx worker_processes, HAProxy nbthread, Caddy GOMAXPROCS, portier workers; direct = the
    backend config with as many workers) in front of its own backend (1 worker), wrk -t2 -c64;
    nothing pinned: server, backend and client share both CPUs as the scheduler sees fit."""
    d = b.opts.duration
    b.results.meta["h1u"] = (f"own instances with {H1U_WORKERS} workers each, own backend "
                             f"(1 nginx worker), wrk -t2 -c64 -d{d}s, no taskset for any of them")
    backend = peers.Backend(b.ctx)
    backend.name = "backend-h1u"
    backend.dir = os.path.join(b.ctx.tmp, backend.name)
    backend.pinned = False
    try:
        if not backend.start():
            for t in b.targets:
                b.results.na_metric("h1u", t.name, f"own backend: {backend.na}")
            return
        # Like churn: fresh instances, so every target takes part even when its shared pinned
        # instance is down; A B C A B C order across repetitions.
        for _ in range(b.opts.reps):
            for t in b.targets:
                _h1_unpinned_round(b, t, backend, d)
    finally:
        backend.stop()


def _h1_unpinned_round(b, t, backend, d):
    """One measured run of target t's own unpinned H1U_WORKERS-worker instance."""
    classes = {"direct": peers.Direct, "nginx": peers.Nginx, "haproxy": peers.Haproxy,
               "caddy": peers.Caddy, "portier": peers.Portier}
    inst = classes[t.name](b.ctx)
    inst.name = f"{t.name}-h1u"
    inst.dir = os.path.join(b.ctx.tmp, inst.name)
    inst.workers = H1U_WORKERS
    inst.pinned = False
    inst.upstream_port = backend.http_port
    try:
        if not inst.start():
            b.results.na_metric("h1u", t.name, inst.na)
            return
        url = f"http://127.0.0.1:{inst.http_port}/"
        warm_up(b, url, conns=64, h1=True, pinned=False)
        r = b.measure(inst, lambda: loadgen.wrk(url, 64, d, None, threads=2),
                      counts_backend=b.is_proxy(t), backend=backend)
        b.record("h1u", t, r)
    except (RuntimeError, OSError, ValueError, AttributeError, IndexError, KeyError) as e:
        b.results.na_metric("h1u", t.name, f"{type(e).__name__}: {e}")
    finally:
        inst.stop()


def warm_up(b, url, conns, h1, streams=1, connect_to=None, pinned=True, headers=(), each=20):
    """Fill the proxy's upstream pool with a run that ends cleanly (-n, no request aborted):
    a run stopped by time (wrk, h2load -D) aborts in-flight requests and some proxies then
    close those upstream connections, which the next run would count as new ones. `each`:
    requests per connection x stream (lower for slow runs such as compress over h2)."""
    loadgen.h2load(url, b.ctx.client_cpus if pinned else None, conns=conns, h1=h1, streams=streams,
                   requests=conns * streams * each, connect_to=connect_to,
                   headers=list(headers) + ([] if connect_to else [":authority: bench.local"]))


def fixed_rate_latency(b):
    """(2) h2load --h1 --rps at half the slowest proxy's max; p50/p99 from --log-file."""
    maxima = [b.results.median("h1.rps", t.name) for t in b.targets if b.is_proxy(t)]
    maxima = [m for m in maxima if m]
    if not maxima:
        maxima = [b.results.median("h1.rps", "direct") or 2000.0]
    rate = max(200, int(min(maxima) / 2))
    conns = 16
    per_client = max(1, rate // conns)
    rate = per_client * conns
    b.results.meta["latency.rate"] = rate
    d = b.opts.duration
    for rep, t in b.rounds():
        log = os.path.join(b.ctx.tmp, f"lat-{t.name}-{rep}.log")
        url = f"http://127.0.0.1:{t.http_port}/"
        try:
            r = b.measure(t, lambda: loadgen.h2load(
                url, b.ctx.client_cpus, conns=conns, h1=True, requests=rate * d,
                rps_per_client=per_client, headers=[":authority: bench.local"], log_file=log,
                timeout=3 * d + 30), counts_backend=b.is_proxy(t))
            if r["errors"] > 0.01 * max(r["requests"], 1):
                raise RuntimeError(f"{r['errors']} of {r['requests']} requests failed")
            p50, p99, _ = loadgen.latency_percentiles(log)
            b.results.add("lat.p50", t.name, p50)
            b.results.add("lat.p99", t.name, p99)
            b.results.add("lat.rps", t.name, r["rps"])
            if r["errors"]:
                b.results.note(f"latency: {t.name} had {r['errors']} failed requests")
        except (RuntimeError, OSError, ValueError, AttributeError) as e:
            b.results.na_metric("lat", t.name, f"h2load: {e}")
        finally:
            if os.path.exists(log):
                os.remove(log)


def https(b):
    """(3) TLS: h1 keep-alive, h2 multiplexed, full handshakes (tools/tls_full_hs.c: a fresh
    session every connection, none resumed) and h2load's Connection: close run (-n), whose
    connections after each client's first resume the TLS 1.3 session (PSK + ECDHE)."""
    d = b.opts.duration
    n_hs = b.opts.handshakes
    full_hs = getattr(b.ctx, "tls_full_hs", None)
    for _, t in b.rounds():
        url = f"https://bench.local:{t.https_port}/"  # SNI and Host bench.local
        via = f"127.0.0.1:{t.https_port}"
        runs = [
            ("tls_h1", dict(conns=64, h1=True, duration=d)),
            ("tls_h2", dict(conns=16, streams=32, duration=d)),
            ("tls_full", None),
            ("tls_hs", dict(conns=16, h1=True, requests=n_hs, headers=["Connection: close"])),
        ]
        for prefix, kw in runs:
            try:
                if kw is None:
                    if full_hs is None:
                        b.results.na_metric(prefix, t.name, "tls_full_hs not built (see notes)")
                        continue
                    r = b.measure(t, lambda: tools_tls_full_hs(b, full_hs, t.https_port, d),
                                  counts_backend=b.is_proxy(t))
                    b.results.meta[f"{prefix}.resumed.{t.name}"] = \
                        f"{r['reused']} of {r['requests'] + r['errors']} connections"
                    if r.get("first_error"):
                        b.results.note(f"{prefix}: {t.name}: {r['errors']} failed exchanges "
                                       f"({r['reused']} resumed), first: {r['first_error']}")
                    b.record(prefix, t, r)
                    continue
                if "duration" in kw:
                    warm_up(b, url, conns=kw["conns"], h1=kw.get("h1", False),
                            streams=kw.get("streams", 1), connect_to=via)
                r = b.measure(t, lambda: loadgen.h2load(url, b.ctx.client_cpus, connect_to=via,
                                                        **kw),
                              counts_backend=b.is_proxy(t))
                b.record(prefix, t, r)
            except (RuntimeError, OSError, ValueError, AttributeError, KeyError) as e:
                tool = "tls_full_hs" if kw is None else "h2load"
                b.results.na_metric(prefix, t.name, f"{tool} failed: {e}")


H3_CONNS = 16           # QUIC connections = gtlsclient processes; portier allows 100 streams each
# The same requests over TLS h2: h2load -c16 -m32, the "HTTPS h2" row's shape. Not -m100: 1,600
# requests in flight overflow the 1,024-connection upstream pools (portier opened ~35 backend
# connections per 1,000 requests, Caddy ~3); gtlsclient's do not (0 opened).
H3_STREAMS_H2 = 32
H3_PER_SECOND = 400     # requests per connection and second of --duration (~5 s for portier)


def http3(b):
    """(3b) HTTP/3 on each target's H3_PORT (portier: entrypoint websecure-h3 with http3;
    Caddy: protocols h1 h2 h3 on that listener), 1 KiB responses from the shared backend:
    H3_CONNS gtlsclient connections x N requests, then the same N over TLS h2 to the same port
    (h2load -c16 -m32), so h3 and h2 share the certificate, the router and the backend.
    Requests-bounded runs (gtlsclient has no duration): N = H3_PER_SECOND x --duration per
    connection. Targets without HTTP/3 (nginx 1.22, HAProxy 2.6 from Debian, direct) are n/a."""
    per_conn = H3_PER_SECOND * b.opts.duration
    missing = None if shutil.which("gtlsclient") else "gtlsclient missing (package ngtcp2-client)"
    b.results.meta["h3"] = (f"gtlsclient (ngtcp2-client) x {H3_CONNS} processes pinned with the "
                            f"clients, -n {per_conn} each; h2: h2load -c{H3_CONNS} "
                            f"-m{H3_STREAMS_H2} -n {H3_CONNS * per_conn}")
    checked = {}  # target name -> why its HTTP/3 check failed ("" = passed)
    for _, t in b.rounds():
        if t.h3_port is None:
            for prefix in ("h3", "h3_h2"):
                b.results.na_metric(prefix, t.name, t.no_h3 or "no HTTP/3")
            continue
        if t.name not in checked:
            checked[t.name] = missing or _h3_check(b, t)
        url, via = f"https://bench.local:{t.h3_port}/", f"127.0.0.1:{t.h3_port}"
        try:  # fills the upstream pool for both runs (as many requests in flight as they have)
            warm_up(b, url, conns=H3_CONNS, h1=False, streams=H3_STREAMS_H2, connect_to=via,
                    each=2)
        except (RuntimeError, OSError, ValueError, AttributeError) as e:
            for prefix in ("h3", "h3_h2"):
                b.results.na_metric(prefix, t.name, f"h2load warm-up failed: {e}")
            continue
        if checked[t.name]:
            b.results.na_metric("h3", t.name, checked[t.name])
        else:
            _h3_run(b, t, per_conn)
        _h3_h2_run(b, t, per_conn, url, via)


def _h3_check(b, t):
    """"" when 16 requests over one QUIC connection all answer 200 with ALPN h3, else why not."""
    try:
        r = loadgen.gtlsclient(t.h3_port, b.ctx.client_cpus, conns=1, requests_per_conn=16,
                               check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return f"gtlsclient: {type(e).__name__}: {e}"
    b.results.meta[f"h3.tls.{t.name}"] = f"{r['tls']} alpn={r['alpn']}"
    if r["alpn"] != "h3" or r["errors"]:
        return f"HTTP/3 check: alpn {r['alpn']}, {r['errors']} of 16 requests without a 200"
    return ""


def _h3_run(b, t, per_conn):
    """One measured HTTP/3 run; responses the backend did not serve count as failed."""
    try:
        r = b.measure(t, lambda: loadgen.gtlsclient(
            t.h3_port, b.ctx.client_cpus, conns=H3_CONNS, requests_per_conn=per_conn,
            timeout=60 + 20 * b.opts.duration))
        r["errors"] = max(r["errors"], r["requests"] - r.get("backend_requests", 0))
        b.record("h3", t, r)
    except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
        b.results.na_metric("h3", t.name, f"gtlsclient failed: {type(e).__name__}: {e}")


def _h3_h2_run(b, t, per_conn, url, via):
    """The same requests over TLS h2 on the same port."""
    try:
        r = b.measure(t, lambda: loadgen.h2load(url, b.ctx.client_cpus, conns=H3_CONNS,
                                                streams=H3_STREAMS_H2,
                                                requests=H3_CONNS * per_conn, connect_to=via))
        b.record("h3_h2", t, r)
    except (RuntimeError, OSError, ValueError, AttributeError, KeyError) as e:
        b.results.na_metric("h3_h2", t.name, f"h2load failed: {e}")


def compress(b):
    """gzip of the backend's 64 KiB application/json document (peers.JSON_DOC at
    peers.JSON_PATH) by each proxy, Accept-Encoding: gzip: wrk -c64 over HTTP/1.1, then h2load
    16 conns x 32 streams over TLS h2. Once per target the body is checked (a proxy must answer
    gzip that decompresses to the document at a sane ratio) and its size recorded. direct
    serves it uncompressed: the uncompressed baseline, not a compressor."""
    d = b.opts.duration
    accept = "Accept-Encoding: gzip"
    failed = {}  # target name -> why its compression check failed
    for rep, t in b.rounds():
        if rep == 0:
            try:
                b.results.add("gz.bytes", t.name, gzip_body_bytes(t, b.is_proxy(t)))
            except (RuntimeError, OSError, ValueError, EOFError) as e:
                failed[t.name] = f"{type(e).__name__}: {e}"
        if t.name in failed:
            for prefix in ("gz", "gz_h1", "gz_h2"):
                b.results.na_metric(prefix, t.name, failed[t.name])
            continue
        url = f"http://127.0.0.1:{t.http_port}{peers.JSON_PATH}"
        try:
            warm_up(b, url, conns=64, h1=True, headers=[accept])
            r = b.measure(t, lambda: loadgen.wrk(url, 64, d, b.ctx.client_cpus, headers=[accept]),
                          counts_backend=b.is_proxy(t))
            b.record("gz_h1", t, r)
        except (RuntimeError, OSError, ValueError, AttributeError) as e:
            b.results.na_metric("gz_h1", t.name, f"wrk failed: {e}")
        _compress_h2(b, t, d, accept)


def _compress_h2(b, t, d, accept):
    """The h2 half of compress: h2load -c16 -m32 over TLS; its body bytes per response show
    the h2 responses were compressed too."""
    url = f"https://bench.local:{t.https_port}{peers.JSON_PATH}"
    via = f"127.0.0.1:{t.https_port}"
    try:
        # 4 per stream: 2,048 requests, a few seconds at the slowest compressor's rate.
        warm_up(b, url, conns=16, h1=False, streams=32, connect_to=via, headers=[accept], each=4)
        r = b.measure(t, lambda: loadgen.h2load(url, b.ctx.client_cpus, conns=16, streams=32,
                                                duration=d, connect_to=via, headers=[accept]),
                      counts_backend=b.is_proxy(t))
        per_response = r["body_bytes"] / max(r["requests"], 1) if r["body_bytes"] else None
        if per_response is None or (b.is_proxy(t) and per_response > len(peers.JSON_DOC) / 2):
            b.results.na_metric("gz_h2", t.name, f"h2 responses not compressed "
                                f"({per_response} body bytes per response)")
            return
        b.record("gz_h2", t, r)
        b.results.add("gz_h2.bytes", t.name, per_response)
    except (RuntimeError, OSError, ValueError, AttributeError, KeyError) as e:
        b.results.na_metric("gz_h2", t.name, f"h2load failed: {e}")


GZ_RATIO_SANE = (2.0, 20.0)  # peers.JSON_DOC shrinks ~4.3x (zlib 6); outside, something is off


def gzip_body_bytes(t, compresses):
    """Size of t's /json body asked with Accept-Encoding: gzip over HTTP/1.1 (dechunked).
    A compressing target must answer Content-Encoding: gzip that decompresses to
    peers.JSON_DOC at a ratio within GZ_RATIO_SANE; direct must answer the document as is.
    Raises RuntimeError with the reason otherwise."""
    conn = http.client.HTTPConnection("127.0.0.1", t.http_port, timeout=5)
    try:
        conn.request("GET", peers.JSON_PATH, headers={"Host": "bench.local",
                                                      "Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    coding = resp.getheader("Content-Encoding")
    if resp.status != 200:
        raise RuntimeError(f"{peers.JSON_PATH} answered {resp.status}")
    if not compresses:
        if coding or body != peers.JSON_DOC:
            raise RuntimeError(f"direct answered coding {coding!r}, {len(body)} bytes")
        return len(body)
    if coding != "gzip":
        raise RuntimeError(f"answered Content-Encoding {coding!r}, not gzip")
    if gzip.decompress(body) != peers.JSON_DOC:
        raise RuntimeError("the gzip body does not decompress to the backend's document")
    ratio = len(peers.JSON_DOC) / len(body)
    if not GZ_RATIO_SANE[0] <= ratio <= GZ_RATIO_SANE[1]:
        raise RuntimeError(f"compression ratio {ratio:.1f} outside {GZ_RATIO_SANE}")
    return len(body)


TLS_FULL_CONNS = 16


def tools_tls_full_hs(b, binary, port, seconds):
    import tools
    return tools.tls_full_hs(binary, port, TLS_FULL_CONNS, seconds, b.ctx.client_cpus)


def memory(b):
    """(4) fresh process: PSS idle, then KiB per idle keep-alive connection (1000 -> 5000)."""
    lo, hi = b.opts.mem_conns
    for _, t in b.rounds():
        if not t.start():
            b.results.na_metric("mem", t.name, t.na)
            continue
        held = loadgen.IdleConnections(t.http_port)
        try:
            idle = procs.memory_kib(t.pids())
            held.grow_to(lo)
            m_lo = _settled_memory(t)
            held.grow_to(hi)
            m_hi = _settled_memory(t)
            alive = held.alive_count()
            b.results.add("mem.idle_mib", t.name, idle / 1024.0)
            b.results.add("mem.per_conn_kib", t.name, (m_hi - m_lo) / float(hi - lo))
            if alive != hi:
                b.results.note(f"memory: {t.name} closed {hi - alive} of {hi} idle connections")
        except (RuntimeError, OSError, ValueError) as e:
            b.results.na_metric("mem", t.name, f"{type(e).__name__}: {e}")
        finally:
            held.close()
        t.start()  # leave a fresh instance for what follows


def _settled_memory(t):
    """Memory once two readings 100 ms apart agree within 1% (at most 2 s)."""
    prev = procs.memory_kib(t.pids())
    for _ in range(20):
        time.sleep(0.1)
        cur = procs.memory_kib(t.pids())
        if abs(cur - prev) <= 0.01 * max(prev, 1):
            return cur
        prev = cur
    return prev


def tcp_throughput(b):
    """(full) bulk TCP transfer through the proxy's TCP listener to a socat sink."""
    nbytes = b.opts.tcp_bytes
    for _, t in b.rounds():
        port = b.ctx.sink_port if t.name == "direct" else t.tcp_port
        if port is None:
            b.results.na_metric("tcp", t.name, "no TCP proxying in this peer's build")
            continue
        try:
            pids = t.pids() if t.name != "direct" else []
            cpu0 = procs.cpu_seconds(pids)
            seconds, client_pct = loadgen.tcp_send(port, nbytes, b.ctx.client_cpus)
            cpu1 = procs.cpu_seconds(pids)
            gib = nbytes / float(1 << 30)
            b.results.add("tcp.gibps", t.name, gib / seconds)
            if pids:
                b.results.add("tcp.cpu_ms_per_gib", t.name, 1000.0 * (cpu1 - cpu0) / gib)
        except (RuntimeError, OSError, ValueError) as e:
            b.results.na_metric("tcp", t.name, f"transfer failed: {e}")


def scale_10k(b):
    """(full, portier only) 10,000 routers from the file provider: start time, memory, rps."""
    n = 10000
    portier, scaled = _portier_with_routers(b, "scale", "portier-10k", n)
    if scaled is None:
        return
    portier.stop()
    t0 = time.monotonic()
    try:
        if not scaled.start(timeout=60):
            b.results.na_metric("scale", "portier", scaled.na)
            return
        b.results.add("scale.start_s", "portier", time.monotonic() - t0)
        b.results.add("scale.mem_mib", "portier", procs.memory_kib(scaled.pids()) / 1024.0)
        health = scaled.health()
        b.results.meta["scale.health.routers"] = (health or {}).get("routers", "no /health")
        url = f"http://127.0.0.1:{scaled.http_port}/"
        r = b.measure(scaled, lambda: loadgen.wrk(url, 64, b.opts.duration, b.ctx.client_cpus,
                                                  host=f"s{n - 1}.bench.local"))
        b.results.add("scale.rps", "portier", r["rps"])
        b.results.add("scale.cpu_us", "portier", r["cpu_us"])
    except (RuntimeError, OSError, ValueError) as e:
        b.results.na_metric("scale", "portier", str(e))
    finally:
        scaled.stop()
        portier.start()


def _portier_with_routers(b, metric, name, n):
    """(the portier target, a fresh portier `name` serving n Host routers sI.bench.local, not
    started yet), or (None, None) with `metric` marked n/a when portier is not a running target
    (the other peers show "–")."""
    portier = next((t for t in b.targets if t.name == "portier"), None)
    if portier is None or portier.proc is None:
        reason = portier.na if portier else "not selected"
        b.results.na_metric(metric, "portier", reason or "not running")
        return None, None
    scaled = peers.Portier(b.ctx)
    scaled.name = name
    scaled.dir = os.path.join(b.ctx.tmp, scaled.name)
    scaled.dynamic_text = _routers_yaml(n, b.ctx.backend_port)
    # Snapshots are swapped whole (SPEC 3): the last router answering means all are loaded.
    scaled.ready = lambda: _host_ok(scaled, f"s{n - 1}")
    return portier, scaled


def _host_ok(server, name):
    status, body = procs.http_get(f"http://127.0.0.1:{server.http_port}/", 1.0,
                                  host=f"{name}.bench.local")
    return status == 200 and len(body) == 1024


def _routers_yaml(n, backend_port, renamed=None):
    """n Host-only routers sI.bench.local; renamed=(i, name): router i is Host(name.bench.local)."""
    lines = ["http:", "  routers:"]
    for i in range(n):
        host = renamed[1] if renamed and renamed[0] == i else f"s{i}"
        lines += [f"    r{i}:", f"      rule: \"Host(`{host}.bench.local`)\"",
                  "      entryPoints: [web]", f"      service: s{i}"]
    lines.append("  services:")
    for i in range(n):
        lines += [f"    s{i}:", "      loadBalancer:", "        servers:",
                  f"          - url: \"http://127.0.0.1:{backend_port}\""]
    return "\n".join(lines) + "\n"


def median_or_none(xs):
    return statistics.median(xs) if xs else None


UDP_SOCKETS, UDP_WINDOW, UDP_SIZE = 64, 2, 64


def udp_pps(b):
    """UDP request/response through the udp entrypoint (portier udp-bench, nginx stream udp) to
    the C echo backend; 64 client sockets (64 proxy sessions), 4 datagrams in flight each."""
    load = getattr(b.ctx, "udp_load", None)
    d = b.opts.duration
    for _, t in b.rounds():
        if load is None:
            b.results.na_metric("udp", t.name, "UDP tools not built (see notes)")
            continue
        if t.name in ("haproxy", "caddy"):
            b.results.na_metric("udp", t.name, "no UDP proxying in this peer")
            continue
        direct_echo = None
        try:
            if t.name == "direct":
                # The echo backend itself in the proxy's slot: the upper bound of the box.
                port = b.ctx.port()
                direct_echo = b.ctx.registry.start("udp-echo-direct", [b.ctx.udp_echo, str(port)],
                                                   cpus=b.ctx.server_cpus)
                pids = [direct_echo.pid]
                time.sleep(0.2)  # bind() of a fresh process; a missing echo shows as all lost
            else:
                port = t.ports.get("UDP_PORT")
                pids = t.pids()
            cpu0, snmp0 = procs.cpu_seconds(pids), udp_counters()
            r = tools_udp(b, load, port, d)
            cpu1, snmp1 = procs.cpu_seconds(pids), udp_counters()
            if r["lost"] > 0.01 * max(r["sent"], 1) or r["received"] == 0:
                b.results.na_metric("udp", t.name, f"{r['lost']} of {r['sent']} datagrams lost")
                continue
            b.results.add("udp.rtps", t.name, r["rtps"])
            b.results.add("udp.cpu_us", t.name, 1e6 * (cpu1 - cpu0) / (2.0 * r["received"]))
            b.results.add("udp.client_cpu_pct", t.name, r["client_cpu_pct"])
            if r["lost"] or r["stalls"]:
                grew = {k: snmp1.get(k, 0) - snmp0.get(k, 0)
                        for k in ("RcvbufErrors", "SndbufErrors")}
                b.results.note(f"udp: {t.name} lost {r['lost']} of {r['sent']} datagrams; "
                               f"{r['stalls']} sockets stalled 500 ms; kernel UDP "
                               f"RcvbufErrors +{grew['RcvbufErrors']}, SndbufErrors "
                               f"+{grew['SndbufErrors']} (machine-wide)")
        except (RuntimeError, OSError, ValueError) as e:
            b.results.na_metric("udp", t.name, f"udp_load failed: {e}")
        finally:
            if direct_echo is not None:
                b.ctx.registry.stop(direct_echo)


def udp_counters():
    """The kernel's Udp: counters from /proc/net/snmp (machine-wide)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(x) for x in rows[1][1:]))) if len(rows) >= 2 else {}


def tools_udp(b, load, port, seconds):
    import tools
    return tools.udp_load(load, port, UDP_SOCKETS, UDP_WINDOW, seconds, UDP_SIZE,
                          b.ctx.client_cpus)


CHURN_RATE_HZ = 10


def config_churn(b):
    """Steady wrk load on a stable route while the configuration is reloaded 10x/s; reports
    requests, failed requests (non-2xx + socket errors) and req/s for every proxy."""
    import churn
    import threading
    d = max(10, b.opts.duration)
    ports = (b.backend.http_port, b.backend.ports["ALT1_PORT"], b.backend.ports["ALT2_PORT"])
    # Each peer runs as its own fresh instance here, so every target takes part even when its
    # shared instance from the other scenarios is down (rounds() would skip it silently).
    rounds = [(rep, t) for rep in range(b.opts.reps) for t in b.targets]
    for _, t in rounds:
        if t.name == "direct":
            continue
        peer = churn.CLASSES[t.name](b.ctx)
        peer.churn_ports = ports
        peer.dir = os.path.join(b.ctx.tmp, peer.name)
        if t.name == "portier":
            peer.ready = lambda p=peer: churn.host_ok(p, "bench.local")
        try:
            if not peer.start():
                b.results.na_metric("churn", t.name, peer.na)
                continue
            warm_up(b, f"http://127.0.0.1:{peer.http_port}/", conns=64, h1=True)
            gen0 = peer.generation() if t.name == "portier" else None
            stop = threading.Event()
            state = {"reloads": 0, "reload_errors": 0, "last": 0, "error": ""}

            def reloader():
                g, period = 0, 1.0 / CHURN_RATE_HZ
                next_t = time.monotonic()
                while not stop.is_set():
                    g += 1
                    try:
                        peer.reload(g)
                        state["reloads"] += 1
                        state["last"] = g
                    except (OSError, RuntimeError) as e:
                        state["reload_errors"] += 1
                        state["error"] = str(e)[:120]
                    next_t += period
                    stop.wait(max(0.0, next_t - time.monotonic()))

            url = f"http://127.0.0.1:{peer.http_port}/"
            th = threading.Thread(target=reloader, daemon=True)
            th.start()
            try:
                r = loadgen.wrk(url, 64, d, b.ctx.client_cpus, host="bench.local",
                                detail=True)
            finally:
                stop.set()
                th.join(15)
            last = state["last"]
            # The last generation must be the one served: its first extra router answers.
            live = procs.wait_until(lambda: churn.host_ok(peer, f"x{last}-0.bench.local"), 10)
            b.results.add("churn.requests", t.name, r["requests"])
            b.results.add("churn.failed", t.name, r["errors"])
            b.results.add("churn.rps", t.name, r["rps"])
            b.results.add("churn.reloads", t.name, state["reloads"])
            if gen0 is not None:
                gen1 = peer.generation()
                if gen1 is not None:
                    b.results.add("churn.applied", t.name, gen1 - gen0)
            detail = ", ".join(f"{k} {v}" for k, v in r["error_detail"].items() if v)
            if detail:
                b.results.note(f"churn: {t.name} failures: {detail}")
            if state["reload_errors"]:
                b.results.note(f"churn: {t.name}: {state['reload_errors']} reloads failed "
                               f"({state['error']})")
            if not live:
                b.results.note(f"churn: {t.name} did not serve the last generation's routers "
                               "10 s after the last reload")
        except (RuntimeError, OSError, ValueError, AttributeError) as e:
            b.results.na_metric("churn", t.name, f"{type(e).__name__}: {e}")
        finally:
            peer.stop()


def snapshot_10k(b):
    """(portier only) 10,000 routers from the file provider, then the file rewritten with one
    router changed (6 times): the snapshot's build and publish times from /health
    last_snapshot, and the time from the rename to the first request routed by the new rule."""
    n = 10000
    _, scaled = _portier_with_routers(b, "snap", "portier-snapshot", n)
    if scaled is None:
        return
    try:
        if not scaled.start(timeout=60):
            b.results.na_metric("snap", "portier", scaled.na)
            return
        first = (scaled.health() or {}).get("last_snapshot")
        if not first:
            b.results.na_metric("snap", "portier", "/health has no last_snapshot (older build?)")
            return
        b.results.meta["snap.start"] = f"routers {first['routers']}, build " \
            f"{first['build_ms']:.1f} ms, publish {first['publish_ms']:.3f} ms"
        path = os.path.join(scaled.dir, "dynamic.yml")
        # Odd changes are timed by /health alone (polled every 50 ms, so the build runs
        # undisturbed on the pinned core); even ones by polling the new Host every 5 ms.
        for k in range(1, 7):
            gen = scaled.health()["last_snapshot"]["generation"]
            text = _routers_yaml(n, b.ctx.backend_port, renamed=(k, f"new{k}"))
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, path)
            t0 = time.monotonic()
            if k % 2 == 0:
                if not procs.wait_until(lambda: _host_ok(scaled, f"new{k}"), 10, step=0.005):
                    b.results.na_metric("snap", "portier", f"change {k} not routed within 10 s")
                    return
                b.results.add("snap.routed_ms", "portier", 1000.0 * (time.monotonic() - t0))
            snap = procs.wait_until(lambda: (lambda s: s if s["generation"] > gen else None)(
                scaled.health()["last_snapshot"]), 10, step=0.05)
            if not snap:
                b.results.na_metric("snap", "portier", f"change {k} not applied within 10 s")
                return
            if snap["generation"] != gen + 1:
                b.results.note(f"snapshot: change {k} applied {snap['generation'] - gen} "
                               "snapshots")
            if k % 2 == 1:
                for key in ("build_ms", "merge_ms", "compile_ms", "publish_ms"):
                    b.results.add(f"snap.{key}", "portier", snap[key])
            b.results.meta["snap.routers"] = snap["routers"]
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as e:
        b.results.na_metric("snap", "portier", f"{type(e).__name__}: {e}")
    finally:
        scaled.stop()
