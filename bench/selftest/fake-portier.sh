#!/usr/bin/env bash
# Test double for the harness only: "portier run --config FILE" implemented by HAProxy, so the
# portier code path of bench.py (config rendering, readiness, port checks, accounting, 10k-router
# scale test) can be exercised before the real binary works. Understands only the configs that
# bench/configs/portier*.yml render. Usage: bench/run.sh --portier bench/selftest/fake-portier.sh
set -euo pipefail
[ "${1:-}" = run ] && [ "${2:-}" = --config ] || { echo "usage: $0 run --config FILE" >&2; exit 2; }
static="$3"
addr() { awk -v ep="  $1:" '$0 == ep {f=1; next} f && /address:/ {print $2; exit}' "$static"; }
diag=$(awk '/^diagnostics:/ {f=1; next} f && /address:/ {print $2; exit}' "$static")
dir=$(dirname "$static")
dynamic=$(awk '/filename:/ {print $2; exit}' "$static")
backend=$(grep -m1 -o 'http://127.0.0.1:[0-9]*' "$dynamic" | sed 's|http://||')
sink=$(grep -m1 -o 'address: "127.0.0.1:[0-9]*"' "$dynamic" | grep -o '127[^"]*' || true)
cert=$(awk '/certFile:/ {print $NF; exit}' "$dynamic")
key=$(awk '/keyFile:/ {print $NF; exit}' "$dynamic")
routers=$(grep -c '^    [^ ].*:$' "$dynamic" || true)
{
  echo "global"; echo "    nbthread 1"; echo "    ulimit-n 20000"; echo "    maxconn 9000"
  echo "defaults"; echo "    mode http"; echo "    timeout connect 5s"
  echo "    timeout client 300s"; echo "    timeout server 300s"; echo "    http-reuse always"
  echo "frontend diag"; echo "    bind $diag"
  echo "    http-request return status 200 content-type application/json string '{\"status\":\"ok\",\"routers\":{\"http\":$routers}}'"
  echo "frontend web"; echo "    bind $(addr web)"
  if [ -n "$cert" ]; then
    cat "$cert" "$key" > "$dir/fake-bundle.pem"
    echo "    bind $(addr websecure) ssl crt $dir/fake-bundle.pem alpn h2,http/1.1"
  fi
  echo "    use_backend be_gz if { path /json }"  # the compress scenario's gzip route
  echo "    default_backend be"
  echo "backend be"; echo "    server s1 $backend pool-max-conn 1024"
  echo "backend be_gz"; echo "    compression algo gzip"
  echo "    compression type application/json"
  echo "    server s1 $backend pool-max-conn 1024"
  if [ -n "$sink" ]; then
    echo "listen tcp"; echo "    mode tcp"; echo "    bind $(addr tcp-bench)"; echo "    server s $sink"
  fi
} > "$dir/fake-haproxy.cfg"
exec haproxy -db -f "$dir/fake-haproxy.cfg"
