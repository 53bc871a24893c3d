"""The servers under test: the fixed backend, "direct" (the backend itself in the proxy's slot),
nginx, HAProxy, Caddy and portier. Each renders its template from bench/configs (or
bench/backend), checks its ports are free, starts pinned, and waits until it proxies a request.
"""
import os
import json
import random
import re
import shutil

import procs

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = ("portier-bench-1KiB-" * 64)[:1024]
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
JSON_PATH = "/json"       # the compress scenario's path: the backend serves JSON_DOC there


_FIRST = ("Ada Alan Barbara Claude Dennis Edsger Frances Grace Guido John Ken Leslie Linus "
          "Margaret Niklaus Radia Rob Sophie Tim Whitfield").split()
_LAST = ("Lovelace Turing Liskov Shannon Ritchie Dijkstra Allen Hopper Rossum Backus Thompson "
         "Lamport Torvalds Hamilton Wirth Perlman Pike Wilson Berners-Lee Diffie").split()
_CITIES = (("Berlin", "DE"), ("Lyon", "FR"), ("Porto", "PT"), ("Oslo", "NO"),
           ("Austin", "US"), ("Osaka", "JP"), ("Leeds", "GB"), ("Turin", "IT"))
_TAGS = "admin beta billing docker edge ops staff trial vip api".split()
_STATUSES = ("active", "active", "active", "suspended", "pending", "deleted")
_NOTE = ("routes each request to a healthy server while middlewares add headers strip "
         "prefixes and compress bodies for clients that accept gzip").split()


def _api_record(rng, i):
    """One user record of api_json() as compact JSON, every value drawn from rng."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, country = rng.choice(_CITIES)
    return json.dumps({
        "id": 100000 + i,
        "uuid": "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                                rng.getrandbits(12), rng.getrandbits(16),
                                                rng.getrandbits(48)),
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 999)}@example.com",
        "status": rng.choice(_STATUSES),
        "created_at": "2026-%02d-%02dT%02d:%02d:%02dZ" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59)),
        "balance": round(rng.uniform(-500, 50000), 2),
        "logins": rng.randint(0, 5000),
        "verified": rng.random() < 0.7,
        "tags": rng.sample(_TAGS, rng.randint(0, 3)),
        "address": {"street": f"{rng.randint(1, 300)} {rng.choice(_LAST)} Street",
                    "city": city, "country": country, "zip": str(rng.randint(10000, 99999))},
        "note": " ".join(rng.choice(_NOTE) for _ in range(rng.randint(0, 12))),
    }, separators=(",", ":"))


def api_json(size=65536, seed=16):
    """A deterministic JSON document of exactly `size` bytes shaped like an API's list
    response: an array of user records (_api_record) drawn from a fixed seed. Keys repeat in
    every record while values mix small vocabularies with random digits and hex (UUIDs, times,
    amounts), as real API output does, so gzip shrinks it by a realistic ratio (zlib 6: ~4.3x).
    Not one repeated byte: deflate would squeeze that ~1000:1 with long back-references and
    almost no work, and the figures would not show the cost of compressing a real response."""
    rng = random.Random(seed)
    records = []
    used = 2  # "[" and "]"
    while True:
        record = _api_record(rng, len(records))
        if used + len(record) + 1 + 32 > size:  # 32: room for the last record below
            break
        records.append(record)
        used += len(record) + 1  # the record and its ","
    # The last record's "note" is cut to fill the remaining bytes exactly (ASCII words, so any
    # cut is still a valid string).
    last = '{"id":%d,"note":""}' % (100000 + len(records))
    note = " ".join(_NOTE * 20)[:size - used - len(last)]
    records.append(last.replace('""', f'"{note}"'))
    doc = ("[" + ",".join(records) + "]").encode()
    assert len(doc) == size, len(doc)
    return doc


JSON_DOC = api_json()


def render(template_path, out_path, values):
    """Replace every {{NAME}}; a placeholder without a value is an error."""
    with open(template_path) as f:
        text = f.read()

    def sub(m):
        if m.group(1) not in values:
            raise KeyError(f"{template_path}: no value for {{{{{m.group(1)}}}}}")
        return str(values[m.group(1)])

    with open(out_path, "w") as f:
        f.write(re.sub(r"\{\{(\w+)\}\}", sub, text))
    return out_path


class Context:
    """Shared run state: the process registry, temp dir, certificate, backend and sink ports."""

    def __init__(self, registry, tmp, cert, key, bundle, server_cpus, client_cpus):
        self.registry = registry
        self.tmp = tmp
        self.cert, self.key, self.bundle = cert, key, bundle
        self.server_cpus = server_cpus  # proxy under test ("0"), None when unpinned
        self.client_cpus = client_cpus  # load generators and backend ("1"), None when unpinned
        self.backend_port = None
        self.sink_port = None
        self.echo_port = None  # UDP echo backend (udp scenario)
        self.used_ports = set()

    def port(self):
        p = procs.free_port(self.used_ports)
        self.used_ports.add(p)
        return p


class Server:
    """One server instance. `na` holds the reason when it cannot run (then proc is None)."""

    name = "?"
    has_tcp = False
    nofile = 20000
    workers = 1      # {{WORKERS}}: nginx worker_processes, HAProxy nbthread, Caddy GOMAXPROCS
    pinned = True    # False: no taskset at all (the h1_unpinned scenario's own instances)
    upstream_port = None  # BACKEND_PORT for this instance; None = the shared backend
    no_h3 = None     # why this peer cannot serve HTTP/3 (the h3 scenario's n/a); None = it can

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.na = None
        self.dir = os.path.join(ctx.tmp, self.name)
        self.ports = {}

    # -- to override
    def prepare(self):
        """Write configs into self.dir; return (argv, env). Raise RuntimeError to mark n/a."""
        raise NotImplementedError

    def ready(self):
        status, body = procs.http_get(f"http://127.0.0.1:{self.http_port}/", timeout=1.0,
                                      host="bench.local")
        return status == 200 and len(body) == 1024

    # -- common
    @property
    def http_port(self):
        return self.ports.get("HTTP_PORT")

    @property
    def https_port(self):
        return self.ports.get("HTTPS_PORT")

    @property
    def h3_port(self):
        """HTTP/3 (UDP) and h1/h2 over TLS (TCP) on one port; None for a peer without HTTP/3."""
        return self.ports.get("H3_PORT")

    @property
    def tcp_port(self):
        return self.ports.get("TCP_PORT") if self.has_tcp else None

    def pids(self):
        return procs.process_tree(self.proc.pid) if self.proc else []

    def values(self):
        v = dict(self.ports)
        v.update(DIR=self.dir, CERT=self.ctx.cert, KEY=self.ctx.key, CERT_BUNDLE=self.ctx.bundle,
                 BACKEND_PORT=self.upstream_port or self.ctx.backend_port,
                 SINK_PORT=self.ctx.sink_port, BODY=BODY, ECHO_PORT=self.ctx.echo_port,
                 WORKERS=self.workers, STREAM_MODULE=STREAM_MODULE,
                 USER_LINE="user nobody nogroup;" if os.geteuid() == 0 else "")
        return v

    def cpus(self):
        return self.ctx.server_cpus if self.pinned else None

    def start(self, timeout=15.0):
        """Start fresh (new ports, new configs). Returns True, or False with self.na set."""
        self.stop()
        self.na = None
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        for key in self.port_names():
            self.ports[key] = self.ctx.port()
        busy = [p for p in self.ports.values() if not procs.port_is_free(p)]
        if busy:
            self.na = f"ports busy before start: {busy}"
            return False
        try:
            argv, env = self.prepare()
        except (RuntimeError, OSError, KeyError) as e:
            self.na = str(e)
            return False
        self.proc = self.ctx.registry.start(self.name, argv, cpus=self.cpus(), env=env,
                                            nofile=self.nofile)
        if not procs.wait_until(self.ready, timeout, proc=self.proc):
            alive = self.proc.alive()
            self.na = ("not ready after %.0fs" % timeout if alive else "exited at start") + \
                (": " + self.proc.log_tail(3) if self.proc.log_tail(3) else "")
            self.stop()
            return False
        foreign = {p: procs.foreign_listeners(p, self.pids()) for p in self.ports.values()}
        foreign = {p: i for p, i in foreign.items() if i}
        if foreign:
            self.na = f"another process also listens on {sorted(foreign)} (SO_REUSEPORT?)"
            self.stop()
            return False
        return True

    def port_names(self):
        names = ["HTTP_PORT", "HTTPS_PORT"]
        return names + (["TCP_PORT"] if self.has_tcp else [])

    def stop(self):
        if self.proc:
            self.ctx.registry.stop(self.proc)
            self.proc = None


class NginxBased(Server):
    template = None

    def prepare(self):
        if not shutil.which("nginx"):
            raise RuntimeError("nginx not installed")
        conf = render(self.template, os.path.join(self.dir, "nginx.conf"), self.values())
        return ["nginx", "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log")], {}


class Backend(NginxBased):
    """The fixed backend (pinned with the clients). Also counts accepted connections."""
    name = "backend"
    no_h3 = "nginx 1.22 (Debian 12) has no HTTP/3 (ngx_http_v3_module came in 1.25)"
    template = os.path.join(BENCH_DIR, "backend", "backend.conf")

    def cpus(self):
        return self.ctx.client_cpus if self.pinned else None

    def port_names(self):
        return super().port_names() + ["ALT1_PORT", "ALT2_PORT"]

    def prepare(self):
        with open(os.path.join(self.dir, "doc.json"), "wb") as f:
            f.write(JSON_DOC)
        return super().prepare()

    def stub_status(self):
        """(accepts, requests) from stub_status, excluding this status request itself."""
        _, body = procs.http_get(f"http://127.0.0.1:{self.http_port}/bench-status", timeout=2.0)
        lines = body.decode().splitlines()
        accepts, _handled, requests = (int(x) for x in lines[2].split())
        return accepts - 1, requests - 1


class Direct(Backend):
    """The backend config itself in the proxy's slot: the upper bound of the box."""
    name = "direct"

    def cpus(self):
        return self.ctx.server_cpus if self.pinned else None


class Nginx(NginxBased):
    name = "nginx"
    no_h3 = Backend.no_h3
    has_tcp = os.path.exists(STREAM_MODULE)
    template = os.path.join(BENCH_DIR, "configs", "nginx.conf")

    def port_names(self):
        return super().port_names() + ["UDP_PORT"]

    def prepare(self):
        if not self.has_tcp:
            raise RuntimeError(f"{STREAM_MODULE} missing (package libnginx-mod-stream)")
        return super().prepare()


class Haproxy(Server):
    name = "haproxy"
    no_h3 = "Debian's HAProxy 2.6 is built without QUIC (USE_QUIC needs a QUIC-capable TLS library)"
    has_tcp = True

    def prepare(self):
        if not shutil.which("haproxy"):
            raise RuntimeError("haproxy not installed")
        cfg = render(os.path.join(BENCH_DIR, "configs", "haproxy.cfg"),
                     os.path.join(self.dir, "haproxy.cfg"), self.values())
        return ["haproxy", "-db", "-f", cfg], {}


class Caddy(Server):
    name = "caddy"

    def port_names(self):
        return super().port_names() + ["H3_PORT"]

    def prepare(self):
        if not shutil.which("caddy"):
            raise RuntimeError("caddy not installed")
        cfg = render(os.path.join(BENCH_DIR, "configs", "Caddyfile"),
                     os.path.join(self.dir, "Caddyfile"), self.values())
        env = {"GOMAXPROCS": str(self.workers), "HOME": self.dir, "XDG_DATA_HOME": self.dir,
               "XDG_CONFIG_HOME": self.dir}
        return ["caddy", "run", "--config", cfg, "--adapter", "caddyfile"], env


class Portier(Server):
    name = "portier"
    has_tcp = True
    binary = None            # set by the driver (--portier)
    workers = 1
    dynamic_template = os.path.join(BENCH_DIR, "configs", "portier-dynamic.yml")
    dynamic_text = None      # replaces the template when set (scale test)
    observability = ""       # static YAML appended to portier.yml (bench.py --observe)

    def port_names(self):
        return super().port_names() + ["DIAG_PORT", "UDP_PORT", "H3_PORT", "METRICS_PORT"]

    def prepare(self):
        if not self.binary or not os.path.exists(self.binary):
            raise RuntimeError(f"{self.binary or 'build/portier'} missing (not built yet)")
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"{self.binary} not executable")
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        values = self.values()
        values["OBSERVABILITY"] = self.observability.replace("{{DIR}}", self.dir)
        dyn = os.path.join(self.dir, "dynamic.yml")
        if self.dynamic_text is None:
            render(self.dynamic_template, dyn, values)
        else:
            with open(dyn, "w") as f:
                f.write(self.dynamic_text)
        cfg = render(os.path.join(BENCH_DIR, "configs", "portier.yml"),
                     os.path.join(self.dir, "portier.yml"), values)
        return [self.binary, "run", "--config", cfg], {}

    def health(self):
        """GET /health on the diagnostics port (SPEC 10), or None when it does not answer."""
        try:
            _, body = procs.http_get(f"http://127.0.0.1:{self.ports['DIAG_PORT']}/health", 1.0)
            return json.loads(body)
        except (OSError, ValueError):
            return None

    def cpus(self):
        # workers > 1 only makes sense on the whole box.
        return self.ctx.server_cpus if self.pinned and self.workers == 1 else None


PROXIES = [Nginx, Haproxy, Caddy, Portier]

