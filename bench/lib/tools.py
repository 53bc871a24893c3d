"""The benchmark's small C programs (bench/tools/*.c), compiled at run time with `cc -O2` into
the run's temp dir: a batched UDP echo server and a request/response UDP load generator."""
import os
import re
import shutil
import subprocess

TOOLS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


def build(name, tmp):
    """Path of the compiled tool; RuntimeError (with the compiler's message) when it fails."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc) to build the UDP tools")
    out = os.path.join(tmp, name)
    if not os.path.exists(out):
        r = subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(TOOLS_DIR, name + ".c")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"cc {name}.c failed: {r.stderr.strip()[-300:]}")
    return out


def udp_load(binary, port, sockets, window, seconds, size, cpus):
    """One udp_load run: {"sent", "received", "lost", "seconds", "stalls", "rtps",
    "client_cpu_pct"}."""
    import loadgen  # noqa: E402 (same lib dir)
    out, cpu, wall = loadgen._run([binary, str(port), str(sockets), str(window), str(seconds),
                                   str(size)], cpus, seconds + 30)
    m = re.search(r"sent (\d+) received (\d+) lost (-?\d+) seconds ([\d.]+) stalls (\d+) "
                  r"in_time (\d+)", out)
    if not m:
        raise RuntimeError(f"udp_load output: {out.strip()[-200:]}")
    sent, received, lost, secs, stalls, in_time = int(m.group(1)), int(m.group(2)), \
        int(m.group(3)), float(m.group(4)), int(m.group(5)), int(m.group(6))
    return {"sent": sent, "received": received, "lost": lost, "seconds": secs,
            "stalls": stalls, "rtps": in_time / secs, "client_cpu_pct": 100.0 * cpu / wall}
