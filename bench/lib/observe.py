"""bench.py --observe: what issue 17's observability costs in server CPU per request.

portier only, one worker pinned on the server CPU, the h1 row's load (wrk -t1 -c64, 1 KiB
responses from the shared backend, after an h2load warm-up) against five instances that differ
only in their static observability sections (the configurations of callgrind_observe.sh):
off, metrics, json, common, both. The instances run side by side and are measured in turn,
off metrics json common both, then again, `reps` times: drift of a shared machine hits every
configuration alike, and each repetition's ratio to its own `off` is reported next to the
ratio of the medians. CPU is user + system of all the process's threads (schedstat, ns):
callgrind_observe.sh counts user-space instructions only, while most of a proxied request's
CPU is the kernel's (four socket calls), and the access log adds a write(2) per batch."""
import datetime
import json
import os
import statistics
import sys

import loadgen
import peers
import procs

METRICS = "metrics:\n  prometheus:\n    entryPoint: metrics\n"
JSON_LOG = "accessLog:\n  filePath: {{DIR}}/access.log\n  format: json\n"
CONFIGS = [  # name, static YAML, label
    ("off", "", "off (no `metrics`, no `accessLog`)"),
    ("metrics", METRICS, "`metrics.prometheus` (entrypoint + service series)"),
    ("json", JSON_LOG, "`accessLog` json, to a file"),
    ("common", "accessLog:\n  filePath: {{DIR}}/access.log\n", "`accessLog` common, to a file"),
    ("both", METRICS + "    addRoutersLabels: true\n" + JSON_LOG,
     "both (json + metrics with routers)"),
]
TARGETS = {"metrics": 1.03, "json": 1.10}  # issue 17: CPU per request against off
CONNS = 64
WARM_UP = CONNS * 20  # requests of the h2load warm-up (fills the upstream pool)


class ObservedPortier(peers.Portier):
    def __init__(self, ctx, config, static):
        self.name = f"portier-{config}"
        super().__init__(ctx)
        self.config = config
        self.observability = static

    @property
    def access_log(self):
        return os.path.join(self.dir, "access.log") if "accessLog" in self.observability else None


def log_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def wait_lines(path, n, timeout=10.0):
    """The access log's line count once it reached n (the writer thread caught up), or the
    count at the deadline."""
    got = [0]

    def done():
        got[0] = log_lines(path)
        return got[0] >= n
    procs.wait_until(done, timeout, step=0.02)
    return got[0]


def one_run(inst, ctx, duration):
    """Warm-up, then a measured wrk run: {rps, requests, errors, cpu_us, lines_per_request}.
    The access log is emptied after the warm-up's lines are written, and the CPU is read again
    only once the run's lines are written (the writer thread's work is part of the cost)."""
    url = f"http://127.0.0.1:{inst.http_port}/"
    loadgen.h2load(url, ctx.client_cpus, conns=CONNS, h1=True, requests=WARM_UP,
                   headers=[":authority: bench.local"])
    log = inst.access_log
    if log:
        if wait_lines(log, WARM_UP) < WARM_UP:
            raise RuntimeError("the warm-up's access log lines were not written within 10 s")
        os.truncate(log, 0)  # opened O_APPEND: the next line goes to the new end
    pids = inst.pids()
    cpu0, switches0 = procs.cpu_seconds_exact(pids), procs.context_switches(pids)
    writer0 = procs.cpu_seconds_exact(pids, "portier-log")
    r = loadgen.wrk(url, CONNS, duration, ctx.client_cpus)
    if log:
        r["lines_per_request"] = wait_lines(log, r["requests"]) / max(r["requests"], 1)
    n = max(r["requests"], 1)
    r["cpu_us"] = 1e6 * (procs.cpu_seconds_exact(pids) - cpu0) / n
    r["switches_per_request"] = (procs.context_switches(pids) - switches0) / n
    r["writer_us"] = 1e6 * (procs.cpu_seconds_exact(pids, "portier-log") - writer0) / n
    return r


def metrics_exposed(inst):
    status, body = procs.http_get(f"http://127.0.0.1:{inst.ports['METRICS_PORT']}/metrics", 2.0)
    return status == 200 and b"traefik_entrypoint_requests_total{" in body


def run(ctx, opts):
    """Starts the five instances, measures them in turn `opts.reps` times; returns the samples
    {config: [run dicts]} and the notes."""
    insts = []
    for name, static, _ in CONFIGS:
        inst = ObservedPortier(ctx, name, static)
        if not inst.start():
            raise RuntimeError(f"{inst.name}: {inst.na}")
        insts.append(inst)
    samples = {name: [] for name, _, _ in CONFIGS}
    notes = []
    for rep in range(opts.reps):
        for inst in insts:
            r = one_run(inst, ctx, opts.duration)
            if r["errors"] > 0.01 * max(r["requests"], 1):
                raise RuntimeError(f"{inst.name}: {r['errors']} of {r['requests']} failed")
            if r.get("lines_per_request", 1.0) < 0.99:
                notes.append(f"{inst.config} repetition {rep + 1}: "
                             f"{r['lines_per_request']:.3f} access log lines per request "
                             "(lines dropped?)")
            samples[inst.config].append(r)
            print(f"[bench] observe {rep + 1}/{opts.reps} {inst.config}: "
                  f"{r['cpu_us']:.2f} µs/request, {r['rps']:,.0f} req/s", file=sys.stderr,
                  flush=True)
        if rep == 0:
            for inst in insts:
                if "metrics:" in inst.observability and not metrics_exposed(inst):
                    raise RuntimeError(f"{inst.name}: /metrics has no request series")
    for inst in insts:
        inst.stop()
    return samples, notes


def _range(xs, fmt):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def render(samples, notes, meta, title):
    """The markdown table for bench/RESULTS.md: per configuration the median (range) of the
    CPU per request, its ratio to off's median, the median (range) of each repetition's ratio
    to that repetition's off, req/s, access log lines per request, the access log writer
    thread's share of the CPU, and the process's context switches per request (the worker's
    and the access log writer's wake-ups)."""
    off = [r["cpu_us"] for r in samples["off"]]
    lines = [f"## {title}", "",
             "| configuration | server CPU µs/request, median (range) | ÷ off, medians | "
             "÷ off, per repetition: median (range) | req/s, median (range) | "
             "log lines/request | of which the log writer thread, µs/request | "
             "context switches/request |", "|---|---|---|---|---|---|---|---|"]
    for name, _, label in CONFIGS:
        runs = samples[name]
        cpu = [r["cpu_us"] for r in runs]
        ratio = f"{statistics.median(cpu) / statistics.median(off):.3f}×"
        per_rep = "–" if name == "off" else _range([c / o for c, o in zip(cpu, off)], "{:.3f}×")
        target = TARGETS.get(name)
        if target:
            ratio += f" (target ≤ {target:.2f}×)"
        logged = [r["lines_per_request"] for r in runs if "lines_per_request" in r]
        per_line = f"{statistics.median(logged):.3f}" if logged else "–"
        writer = f"{statistics.median(r['writer_us'] for r in runs):.2f}" if logged else "–"
        lines.append(f"| {label} | {_range(cpu, '{:.2f}')} | {ratio} | {per_rep} | "
                     f"{_range([r['rps'] for r in runs], '{:,.0f}')} | {per_line} | {writer} | "
                     f"{statistics.median(r['switches_per_request'] for r in runs):.3f} |")
    lines += ["", "Settings:"] + [f"- {k}: {v}" for k, v in meta.items()]
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(ctx, opts, environment):
    """The --observe mode: measure, print the table, write results/observe-<stamp>.md/.json."""
    meta = dict(environment)
    meta["load"] = (f"wrk -t1 -c{CONNS} -d{opts.duration}s per run after an h2load --h1 "
                    f"-c{CONNS} -n{WARM_UP} warm-up; {opts.reps} repetitions of off metrics "
                    "json common both; CPU = utime + stime of all threads (schedstat)")
    try:
        samples, notes = run(ctx, opts)
    except (RuntimeError, OSError, ValueError, AttributeError) as e:
        print(f"[bench] observe failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    with open("/proc/loadavg") as f:
        meta["loadavg at end"] = " ".join(f.read().split()[:3])
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    text = render(samples, notes, meta, f"portier observability cost, HTTP/1.1 keep-alive "
                  f"{stamp}")
    print(text)
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, f"observe-{stamp}.md"), "w") as f:
        f.write(text)
    with open(os.path.join(opts.out, f"observe-{stamp}.json"), "w") as f:
        json.dump({"samples": samples, "notes": notes, "meta": meta}, f, indent=1)
    return 0
