#!/usr/bin/python3
"""basicAuth's bcrypt checks must not stall the event loop (issue 15). One portier (2 workers)
with a plain route and a basicAuth route (bcrypt cost 10, made by htpasswd). The plain route is
driven at a fixed rate with h2load --h1 (p50/p99 from its --log-file), alone and then next to
a fixed-rate load on the bcrypt route: (a) valid credentials (cache hits after the first
check), (b) wrong credentials (every request a bcrypt check, ~60 ms of CPU: the two verifier
threads are saturated, at most --auth-conns checks wait). Prints a Markdown table.

Usage: bench/auth_bcrypt.py [--build-dir build] [--rate 2000] [--duration 10] [--reps 3]"""
import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(BENCH_DIR, "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import loadgen  # noqa: E402
from portier_e2e import (Backend, Portier, free_port, http_config, router, service, started,  # noqa: E402
                         write_file_atomic, make_temp_dir)

IP = "127.0.70.1"


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rate", type=int, default=2000, help="plain route requests/s")
    ap.add_argument("--auth-conns", type=int, default=8, help="connections loading the bcrypt route")
    ap.add_argument("--auth-rate", type=int, default=400, help="bcrypt route requests/s offered")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    opts = ap.parse_args()
    os.environ.setdefault("PORTIER_BIN", os.path.join(opts.build_dir, "portier"))

    line = subprocess.run(["htpasswd", "-nbB", "-C", "10", "bench", "secret"], capture_output=True,
                          check=True, text=True).stdout.strip()
    backend = Backend("a", "127.0.70.2")
    port = free_port(IP)
    tmp = make_temp_dir()
    dynamic = {"http": {
        "routers": {"plain": router("Host(`plain.test`)", "a"),
                    "auth": router("Host(`auth.test`)", "a", middlewares=["auth"])},
        "middlewares": {"auth": {"basicAuth": {"users": [line]}}},
        "services": {"a": service(backend.url)}}}
    path = write_file_atomic(tmp / "dynamic.yml", dynamic)
    config = http_config({"web": "%s:%d" % (IP, port)}, path, workers=2)
    config["log"] = {"level": "warn"}
    rows = []
    with started(Portier(config)):
        conns = 16
        per_client = max(1, opts.rate // conns)

        def plain_p99(label):
            for rep in range(opts.reps):
                log = os.path.join(tempfile.gettempdir(), "auth-bench-%d.log" % os.getpid())
                r = loadgen.h2load("http://%s:%d/" % (IP, port), None, conns=conns, h1=True,
                                   requests=per_client * conns * opts.duration, rps_per_client=per_client,
                                   headers=[":authority: plain.test"], log_file=log, timeout=3 * opts.duration + 30)
                p50, p99, n = loadgen.latency_percentiles(log)
                os.unlink(log)
                rows.append((label, rep, r["rps"], r["errors"], p50, p99))

        def background(credentials, stop):
            while not stop.is_set():
                loadgen.h2load("http://%s:%d/" % (IP, port), None, conns=opts.auth_conns, h1=True,
                               duration=2, rps_per_client=opts.auth_rate // opts.auth_conns, headers=[":authority: auth.test", "Authorization: " + credentials],
                               timeout=60)

        plain_p99("alone")
        for label, credentials in (("bcrypt route, valid credentials (cached)", basic("bench", "secret")),
                                   ("bcrypt route, wrong password (a check each)", basic("bench", "wrong"))):
            stop = threading.Event()
            t = threading.Thread(target=background, args=(credentials, stop), daemon=True)
            t.start()
            try:
                plain_p99(label)
            finally:
                stop.set()
                t.join()
    backend.close()
    print("| plain route at %d req/s, h1, %d conns | rep | achieved req/s | errors | p50 µs | p99 µs |"
          % (per_client * conns, conns))
    print("|---|---|---|---|---|---|")
    for label, rep, rps, errors, p50, p99 in rows:
        print("| %s | %d | %.0f | %d | %d | %d |" % (label, rep + 1, rps, errors, p50, p99))


if __name__ == "__main__":
    main()
