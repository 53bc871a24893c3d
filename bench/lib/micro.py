"""bench/run.sh --micro: builds the Google Benchmark target portier_micro (bench/micro) in the
CMake build dir and prints one markdown table of its results (pinned on the server CPU)."""
import json
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def build(build_dir):
    """Configure when needed (re-running CMake finds a newly installed libbenchmark-dev), then
    build only the micro-benchmark target. Returns the binary path."""
    cache = os.path.join(build_dir, "CMakeCache.txt")
    argv = ["cmake", "-S", REPO, "-B", build_dir]
    if not os.path.exists(cache):
        argv += ["-G", "Ninja", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=300)
    r = subprocess.run(["cmake", "--build", build_dir, "--target", "portier_micro", "-j2"],
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError("building portier_micro failed (is libbenchmark-dev installed?):\n"
                           + r.stdout[-2000:] + r.stderr[-1000:])
    return os.path.join(build_dir, "bench", "micro", "portier_micro")


def run(binary, cpus, min_time=0.5, filter_regex=None):
    argv = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    if filter_regex:
        argv.append(f"--benchmark_filter={filter_regex}")
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"portier_micro exited {r.returncode}: {r.stderr[-500:]}")
    return json.loads(r.stdout)


def _fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def render(doc, title):
    ctx = doc.get("context", {})
    lines = [f"## {title}", "", "| benchmark | wall / op | CPU / op | iterations | extra |",
             "|---|---|---|---|---|"]
    for bm in doc.get("benchmarks", []):
        scale = UNIT_NS.get(bm.get("time_unit", "ns"), 1.0)
        extra = []
        if "bytes_per_second" in bm:
            extra.append(f"{bm['bytes_per_second'] / (1 << 20):,.0f} MiB/s")
        if "routers" in bm:
            extra.append(f"{bm['routers']:,.0f} routers")
        if bm.get("error_occurred"):
            extra.append("ERROR: " + bm.get("error_message", ""))
        lines.append(f"| {bm['name']} | {_fmt_ns(bm['real_time'] * scale)} | "
                     f"{_fmt_ns(bm['cpu_time'] * scale)} | {bm['iterations']:,} | "
                     f"{', '.join(extra)} |")
    lines += ["", f"Settings: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} "
              f"MHz, libbenchmark built as {ctx.get('library_build_type', '?')} (the code "
              "measured has the CMake build type), "
              f"load {ctx.get('load_avg', '?')}; pinned with taskset on the server CPU."]
    return "\n".join(lines) + "\n"
