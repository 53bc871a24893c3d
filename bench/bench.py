#!/usr/bin/python3
"""portier benchmark driver (stdlib only). See bench/README.md. Usage: bench/run.sh --quick"""
import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH_DIR, "lib"))

import micro  # noqa: E402
import observe  # noqa: E402
import peers  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402
import tools  # noqa: E402

TOOLS = ["nginx", "haproxy", "caddy", "wrk", "h2load", "openssl", "taskset", "socat"]
SCENARIOS = {
    "h1": scenarios.http1_keepalive,
    "h1_unpinned": scenarios.http1_unpinned,
    "latency": scenarios.fixed_rate_latency,
    "https": scenarios.https,
    "h3": scenarios.http3,
    "tcp": scenarios.tcp_throughput,
    "memory": scenarios.memory,
    "scale": scenarios.scale_10k,
    "udp": scenarios.udp_pps,
    "churn": scenarios.config_churn,
    "snapshot": scenarios.snapshot_10k,
    "compress": scenarios.compress,
}
QUICK = ["h1", "latency", "https", "memory"]
FULL = ["h1", "h1_unpinned", "latency", "https", "h3", "compress", "tcp", "udp", "memory",
        "scale", "snapshot", "churn"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="1 repetition, 5 s runs (default)")
    mode.add_argument("--full", action="store_true",
                      help="3 alternating repetitions, + h1 unpinned (2 workers each), TCP, UDP, "
                      "10k routers, churn")
    mode.add_argument("--micro", action="store_true",
                      help="only the Google Benchmark micro-benchmarks (bench/micro)")
    mode.add_argument("--observe", action="store_true",
                      help="only portier's observability cost: server CPU per HTTP/1.1 request "
                      "with metrics and access logs on and off, alternated (default 10 "
                      "repetitions of 3 s runs)")
    p.add_argument("--build-dir", default=os.path.join(os.path.dirname(BENCH_DIR), "build"),
                   help="CMake build dir for --micro")
    p.add_argument("--micro-filter", help="--benchmark_filter regex for --micro")
    p.add_argument("--reps", type=int, help="repetitions (A B C A B C order)")
    p.add_argument("--duration", type=int, help="seconds per load run (default 5)")
    p.add_argument("--targets", default="direct,nginx,haproxy,caddy,portier",
                   help="comma list among direct,nginx,haproxy,caddy,portier")
    p.add_argument("--scenarios", help="comma list among " + ",".join(SCENARIOS))
    p.add_argument("--portier", default=os.path.join(os.path.dirname(BENCH_DIR), "build",
                                                    "portier"), help="portier binary")
    p.add_argument("--portier-workers", type=int, default=1,
                   help="portier workers in the shared instance (1 = pinned like the peers); "
                        "h1_unpinned always runs 2 for everyone")
    p.add_argument("--unpinned", action="store_true", help="no taskset (whole-box question)")
    p.add_argument("--out", default=os.path.join(BENCH_DIR, "results"), help="results dir")
    p.add_argument("--keep-tmp", action="store_true", help="keep configs and logs")
    a = p.parse_args(argv)
    a.portier = os.path.abspath(a.portier)
    a.reps = a.reps or (10 if a.observe else 3 if a.full else 1)
    a.duration = a.duration or (3 if a.observe else 5)
    a.scenarios = a.scenarios.split(",") if a.scenarios else (FULL if a.full else QUICK)
    bad = [s for s in a.scenarios if s not in SCENARIOS]
    if bad:
        p.error(f"unknown scenarios {bad}")
    if a.portier_workers > 1 and not a.unpinned:
        print("[bench] note: portier with several workers runs unpinned while the peers are "
              "pinned with 1 worker; the h1_unpinned scenario compares like with like",
              file=sys.stderr)
    a.handshakes = 3000 if a.full else 1500
    a.mem_conns = (1000, 5000)
    a.tcp_bytes = (2 if a.full else 1) << 30
    return a


def make_cert(tmp):
    """ECDSA P-256 self-signed cert for bench.local/localhost/127.0.0.1 (+ HAProxy bundle)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=bench.local", "-addext",
                    "subjectAltName=DNS:bench.local,DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    bundle = os.path.join(tmp, "bundle.pem")
    with open(bundle, "w") as out:
        for path in (cert, key):
            with open(path) as f:
                out.write(f.read())
    for path in (cert, key, bundle):
        os.chmod(path, 0o644)  # throw-away test key; nginx workers run as nobody
    return cert, key, bundle


def version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def environment(opts, ctx):
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "machine": f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}",
        "pinning": ("unpinned" if opts.unpinned else
                    f"server under test on CPU {ctx.server_cpus}; clients and backend on CPU "
                    f"{ctx.client_cpus}") +
        ("; h1_unpinned: nothing pinned" if "h1_unpinned" in opts.scenarios else ""),
        "mode": ("observe" if opts.observe else
                 f"{'full' if opts.full else 'quick'}: {opts.reps} repetition(s), "
                 f"{opts.duration}s per load run, scenarios {','.join(opts.scenarios)}"),
        "loadavg at start": load,
        "versions": "; ".join(version(v) for v in (["nginx", "-v"], ["haproxy", "-v"],
                                                     ["caddy", "version"], ["wrk", "-v"],
                                                     ["h2load", "--version"])),
        "portier binary": f"{opts.portier} (workers {opts.portier_workers})",
    }


def run_micro(opts):
    try:
        binary = micro.build(os.path.abspath(opts.build_dir))
        doc = micro.run(binary, None if opts.unpinned else "0", filter_regex=opts.micro_filter)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        print(f"[bench] micro-benchmarks failed: {e}", file=sys.stderr)
        return 1
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    text = micro.render(doc, f"portier micro-benchmarks {stamp}")
    print(text)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, f"micro-{stamp}.md"), "w") as f:
        f.write(text)
    return 0


def main(argv):
    opts = parse_args(argv)
    if opts.micro:
        return run_micro(opts)
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print(f"missing tools: {missing} (bench/run.sh installs them)", file=sys.stderr)
        return 2
    procs.raise_nofile()
    tmp = tempfile.mkdtemp(prefix="portier-bench-")
    os.chmod(tmp, 0o755)
    registry = procs.Registry(tmp)
    started = time.monotonic()
    names = [t for t in opts.targets.split(",") if t]
    results = report.Results(names)
    try:
        cert, key, bundle = make_cert(tmp)
        pinned = None if opts.unpinned else ("0", "1")
        ctx = peers.Context(registry, tmp, cert, key, bundle,
                            pinned[0] if pinned else None, pinned[1] if pinned else None)
        results.meta.update(environment(opts, ctx))
        backend = peers.Backend(ctx)
        if not backend.start():
            print(f"backend failed: {backend.na}", file=sys.stderr)
            return 1
        ctx.backend_port = backend.http_port
        ctx.sink_port = ctx.port()
        ctx.echo_port = ctx.port()
        peers.Portier.binary = opts.portier
        if opts.observe:
            return observe.main(ctx, opts, results.meta)
        if "udp" in opts.scenarios:
            try:
                ctx.udp_echo = tools.build("udp_echo", tmp)
                ctx.udp_load = tools.build("udp_load", tmp)
                registry.start("udp-echo", [ctx.udp_echo, str(ctx.echo_port)],
                               cpus=ctx.client_cpus)
            except (RuntimeError, OSError) as e:
                results.note(f"UDP tools: {e}")
        if "https" in opts.scenarios:
            try:
                ctx.tls_full_hs = tools.build("tls_full_hs", tmp)
            except (RuntimeError, OSError) as e:
                results.note(f"TLS handshake tool: {e}")
        if "tcp" in opts.scenarios:
            registry.start("sink", ["socat", "-u", "-b", "262144",
                                    f"TCP-LISTEN:{ctx.sink_port},bind=127.0.0.1,reuseaddr,fork",
                                    "OPEN:/dev/null"], cpus=ctx.client_cpus)
            if not procs.wait_until(lambda: not procs.port_is_free(ctx.sink_port), 10):
                results.note("TCP sink did not start")
        peers.Portier.workers = opts.portier_workers
        classes = {"direct": peers.Direct, "nginx": peers.Nginx, "haproxy": peers.Haproxy,
                   "caddy": peers.Caddy, "portier": peers.Portier}
        targets = []
        for n in names:
            t = classes[n](ctx)
            if not t.start():
                results.na_target[n] = t.na
                print(f"[bench] {n}: n/a ({t.na})", file=sys.stderr)
            targets.append(t)
        b = scenarios.Bench(ctx, backend, targets, results, opts)
        for s in opts.scenarios:
            t0 = time.monotonic()
            print(f"[bench] scenario {s} ...", file=sys.stderr, flush=True)
            SCENARIOS[s](b)
            print(f"[bench] scenario {s} done in {time.monotonic() - t0:.0f}s", file=sys.stderr,
                  flush=True)
    finally:
        registry.stop_all()
        if opts.keep_tmp:
            print(f"[bench] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        results.meta["loadavg at end"] = " ".join(f.read().split()[:3])
    results.meta["wall time"] = "%.0fs" % (time.monotonic() - started)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    text = report.render(results, f"portier benchmark {stamp}", {
        "rate": results.meta.get("latency.rate", "?"), "lo": opts.mem_conns[0],
        "hi": opts.mem_conns[1], "tcp_mib": opts.tcp_bytes >> 20,
        "h1u_workers": scenarios.H1U_WORKERS,
        "h3_conns": scenarios.H3_CONNS, "h3_n": f"{scenarios.H3_PER_SECOND * opts.duration:,}",
        "h3_h2_streams": scenarios.H3_STREAMS_H2,
        "churn_desc": f"{max(10, opts.duration)} s of wrk -c64, {scenarios.CHURN_RATE_HZ} "
                      "reloads/s",
        "udp_desc": f"{scenarios.UDP_SOCKETS} sockets x {scenarios.UDP_WINDOW} in flight, "
                    f"{scenarios.UDP_SIZE} B"})
    print(text)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, f"{stamp}.md"), "w") as f:
        f.write(text)
    with open(os.path.join(opts.out, f"{stamp}.json"), "w") as f:
        f.write(results.to_json())
    print(f"[bench] written {opts.out}/{stamp}.md (+ .json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
