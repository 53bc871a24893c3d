"""Configuration churn: each peer serves a stable route (Host bench.local -> a service over the
backend's three equally valid ports) while its configuration is rewritten and reloaded 10 times
a second; wrk measures what the clients see. Generation g of the configuration:
- the stable route's servers: two or three of the backend's ports, with weights that move
  (nginx and HAProxy weights, portier weights; Caddy 2.6 has no weighted policy: the set moves);
- 3 + g % 5 other routers Host(`xG-I.bench.local`) -> the backend, added and removed each time.
Each peer reloads the way its operators do: portier rewrites the file provider's file (atomic
rename, inotify), nginx `-s reload` (SIGHUP to the master), HAProxy master-worker reload
(SIGUSR2 to the master, `-W`), Caddy `POST /load` on its admin API."""
import os
import signal
import urllib.request

import peers
import procs


def plan(g, ports):
    """(stable servers [(port, weight)], extra router names) of generation g."""
    base = [(p, 1 + (g + i) % 3) for i, p in enumerate(ports)]
    servers = base if g % 2 == 0 else [s for i, s in enumerate(base) if i != (g // 2) % 3]
    extras = [f"x{g}-{i}" for i in range(3 + g % 5)]
    return servers, extras


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class ChurnPeer:
    """Mixin: config(g) renders generation g; reload(g) writes it and tells the peer."""
    churn_ports = ()

    def churn_values(self):
        return self.values()

    def config_path(self):
        raise NotImplementedError

    def reload(self, g):
        write_atomic(self.config_path(), self.config(g))
        self.signal_reload()

    def signal_reload(self):
        raise NotImplementedError


class ChurnNginx(ChurnPeer, peers.Nginx):
    name = "nginx-churn"

    def config_path(self):
        return os.path.join(self.dir, "nginx.conf")

    def prepare(self):
        write_atomic(self.config_path(), self.config(0))
        return ["nginx", "-p", self.dir, "-c", self.config_path(), "-e",
                os.path.join(self.dir, "error.log")], {}

    def config(self, g):
        v = self.values()
        servers, extras = plan(g, self.churn_ports)
        ups = "\n".join(f"        server 127.0.0.1:{p} weight={w};" for p, w in servers)
        extra = "\n".join(
            f"    server {{ listen 127.0.0.1:{v['HTTP_PORT']}; server_name {n}.bench.local; "
            f"location / {{ proxy_pass http://stable; proxy_http_version 1.1; "
            f"proxy_set_header Connection \"\"; }} }}" for n in extras)
        return f"""{v['USER_LINE']}
worker_processes 1;
worker_rlimit_nofile 20000;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log error;
daemon off;
events {{ worker_connections 19000; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {self.dir}/client_body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    upstream stable {{
{ups}
        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{v['HTTP_PORT']} default_server backlog=4096;
        location / {{
            proxy_pass http://stable;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
{extra}
}}
"""

    def signal_reload(self):
        os.kill(self.proc.pid, signal.SIGHUP)  # what `nginx -s reload` does


class ChurnHaproxy(ChurnPeer, peers.Haproxy):
    name = "haproxy-churn"

    def config_path(self):
        return os.path.join(self.dir, "haproxy.cfg")

    def prepare(self):
        write_atomic(self.config_path(), self.config(0))
        return ["haproxy", "-W", "-db", "-f", self.config_path()], {}

    def config(self, g):
        v = self.values()
        servers, extras = plan(g, self.churn_ports)
        use = "\n".join(f"    use_backend {n} if {{ hdr(host) -i {n}.bench.local }}"
                        for n in extras)
        backs = "\n".join(f"backend {n}\n    server s1 127.0.0.1:{v['BACKEND_PORT']} "
                          f"pool-max-conn 1024" for n in extras)
        stable = "\n".join(f"    server p{p} 127.0.0.1:{p} weight {w} pool-max-conn 1024 "
                           "pool-purge-delay 300s maxconn 9000" for p, w in servers)
        return f"""global
    nbthread 1
    ulimit-n 20000
    maxconn 9000
    hard-stop-after 30s
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    timeout http-request 30s
    http-reuse always
    maxconn 9000
frontend web
    bind 127.0.0.1:{v['HTTP_PORT']}
{use}
    default_backend stable
backend stable
    balance roundrobin
{stable}
{backs}
"""

    def signal_reload(self):
        os.kill(self.proc.pid, signal.SIGUSR2)  # master-worker reload (re-reads the file)


class ChurnCaddy(ChurnPeer, peers.Caddy):
    name = "caddy-churn"

    def port_names(self):
        return super().port_names() + ["ADMIN_PORT"]

    def config_path(self):
        return os.path.join(self.dir, "Caddyfile")

    def prepare(self):
        write_atomic(self.config_path(), self.config(0))
        env = {"GOMAXPROCS": "1", "HOME": self.dir, "XDG_DATA_HOME": self.dir,
               "XDG_CONFIG_HOME": self.dir}
        return ["caddy", "run", "--config", self.config_path(), "--adapter", "caddyfile"], env

    def config(self, g):
        v = self.values()
        servers, extras = plan(g, self.churn_ports)
        transport = ("        transport http {\n            keepalive 300s\n"
                     "            keepalive_idle_conns 1024\n"
                     "            keepalive_idle_conns_per_host 1024\n        }\n")
        ups = " ".join(f"127.0.0.1:{p}" for p, _ in servers)
        out = [f"{{\n    admin 127.0.0.1:{v['ADMIN_PORT']}\n    auto_https off\n"
               "    log {\n        level ERROR\n    }\n    servers {\n        protocols h1 h2\n"
               "    }\n}\n",
               f"http://:{v['HTTP_PORT']} {{\n    bind 127.0.0.1\n    reverse_proxy {ups} {{\n"
               f"        lb_policy round_robin\n{transport}    }}\n}}\n"]
        for n in extras:
            out.append(f"http://{n}.bench.local:{v['HTTP_PORT']} {{\n    bind 127.0.0.1\n"
                       f"    reverse_proxy 127.0.0.1:{v['BACKEND_PORT']}\n}}\n")
        return "".join(out)

    def signal_reload(self):
        with open(self.config_path(), "rb") as f:
            body = f.read()
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports['ADMIN_PORT']}/load",
                                     data=body, method="POST",
                                     headers={"Content-Type": "text/caddyfile"})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"caddy /load answered {r.status}")


class ChurnPortier(ChurnPeer, peers.Portier):
    name = "portier-churn"

    def config_path(self):
        return os.path.join(self.dir, "dynamic.yml")

    def prepare(self):
        self.dynamic_text = self.config(0)
        return super().prepare()

    def config(self, g):
        v = self.values()
        servers, extras = plan(g, self.churn_ports)
        lines = ["http:", "  routers:",
                 "    stable:", "      rule: \"Host(`bench.local`)\"", "      entryPoints: [web]",
                 "      service: stable"]
        for n in extras:
            lines += [f"    {n}:", f"      rule: \"Host(`{n}.bench.local`)\"",
                      "      entryPoints: [web]", "      service: extra"]
        lines += ["  services:", "    stable:", "      loadBalancer:", "        servers:"]
        lines += [f"          - url: \"http://127.0.0.1:{p}\"\n            weight: {w}"
                  for p, w in servers]
        lines += ["    extra:", "      loadBalancer:", "        servers:",
                  f"          - url: \"http://127.0.0.1:{v['BACKEND_PORT']}\""]
        return "\n".join(lines) + "\n"

    def signal_reload(self):
        pass  # the file provider watches the directory (inotify, 100 ms debounce)

    def generation(self):
        h = self.health() or {}
        return (h.get("last_snapshot") or {}).get("generation")


CLASSES = {"nginx": ChurnNginx, "haproxy": ChurnHaproxy, "caddy": ChurnCaddy,
           "portier": ChurnPortier}


def host_ok(server, host):
    try:
        status, body = procs.http_get(f"http://127.0.0.1:{server.http_port}/", 1.0, host=host)
        return status == 200 and len(body) == 1024
    except OSError:
        return False
