"""The benchmark's small C programs (bench/tools/*.c), compiled at run time with `cc -O2` into
the run's temp dir: a batched UDP echo server, a request/response UDP load generator and a
full-TLS-handshake load generator (tls_full_hs, linked with OpenSSL)."""
import json
import os
import re
import shutil
import subprocess

TOOLS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
LIBS = {"tls_full_hs": ["-lssl", "-lcrypto", "-lpthread"]}


def build(name, tmp):
    """Path of the compiled tool; RuntimeError (with the compiler's message) when it fails."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler (cc) to build the bench tools")
    out = os.path.join(tmp, name)
    if not os.path.exists(out):
        r = subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(TOOLS_DIR, name + ".c")]
                           + LIBS.get(name, []),
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


def tls_full_hs(binary, port, conns, seconds, cpus, sni="bench.local"):
    """One tls_full_hs run against 127.0.0.1:port: {"rps", "requests" (completed exchanges, each
    a full handshake), "errors" (incl. "reused"), "reused", "client_cpu_pct", "tls", "alpn"}."""
    import loadgen  # noqa: E402 (same lib dir)
    out, cpu, wall = loadgen._run([binary, "127.0.0.1", str(port), sni, str(conns),
                                   str(seconds)], cpus, seconds + 30)
    line = next((x for x in reversed(out.splitlines()) if x.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"tls_full_hs output: {out.strip()[-200:]}")
    j = json.loads(line)
    r = {"rps": j["rps"], "requests": j["done"], "errors": j["errors"], "reused": j["reused"],
         "client_cpu_pct": 100.0 * cpu / wall, "tls": f"{j['protocol']} {j['cipher']}",
         "alpn": j["alpn"]}
    if j["first_error"]:
        r["first_error"] = j["first_error"]
    return r
