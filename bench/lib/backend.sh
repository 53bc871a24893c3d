# Sourced by the shell benchmarks (callgrind_observe.sh, tls_h1_cost.sh, h3_sockets.sh): what
# each one starts with. The caller sets TMP (its own temporary directory) first; PIDS collects
# the processes to kill, and both go at exit.
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
# A TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits up to 30 s until URL $1 answers (any status, any certificate); fails otherwise.
wait_url() { for _ in $(seq 300); do curl -sk -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
# A self-signed P-256 certificate for bench.local: $TMP/cert.pem, $TMP/key.pem.
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.local \
    -addext subjectAltName=DNS:bench.local -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
}
# nginx's temporary paths inside $TMP (a config that leaves them out writes into nginx's
# default directories, which need root and may not exist).
nginx_temps() { echo "client_body_temp_path $TMP/cb; proxy_temp_path $TMP/p; fastcgi_temp_path $TMP/f; uwsgi_temp_path $TMP/u; scgi_temp_path $TMP/s;"; }
# The backend every row proxies to: one nginx process answering 1 KiB on 127.0.0.1:$BACKEND,
# with keep-alive for as long as a run lasts.
start_backend() {
  BACKEND=$(free_port)
  local body
  body=$(head -c 1024 /dev/zero | tr '\0' x)
  cat > "$TMP/backend.conf" <<NGINX
worker_processes 1; daemon off; pid $TMP/backend.pid; error_log $TMP/backend.log error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 300s; $(nginx_temps)
  server { listen 127.0.0.1:$BACKEND; location / { return 200 "$body"; } } }
NGINX
  nginx -c "$TMP/backend.conf" & PIDS+=($!)
  wait_url "http://127.0.0.1:$BACKEND/"
}
# $TMP/dynamic.yml for portier's file provider: every path on the TLS entrypoint `websecure`
# to the backend, served with the bench.local certificate (make_cert, start_backend first).
write_tls_routes() {
  cat > "$TMP/dynamic.yml" <<DYN
http:
  routers:
    all: {rule: "PathPrefix(\`/\`)", service: b, entryPoints: [websecure], tls: {}}
  services:
    b: {loadBalancer: {servers: [{url: "http://127.0.0.1:$BACKEND"}]}}
tls:
  certificates: [{certFile: "$TMP/cert.pem", keyFile: "$TMP/key.pem"}]
DYN
}
