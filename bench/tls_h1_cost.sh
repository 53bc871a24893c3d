#!/usr/bin/env bash
# Cost per HTTPS HTTP/1.1 keep-alive request (issue 13 item 5), portier and nginx side by side
# as the bench's "HTTPS h1" row runs them (TLS 1.3 TLS_AES_128_GCM_SHA256, SNI bench.local,
# h2load --h1 -c64, 1 KiB responses from an nginx backend), one worker each.
#   bench/tls_h1_cost.sh callgrind [PORTIER] [N]  user-space instructions per request
#     (CACHE=1: also simulated cache misses per request, D1 = first-level data, LL = last level)
#   H2=1 before either: the "HTTPS h2" row (h2load -c16 -m32) instead.
#   H3=1 before either: portier alone (nginx 1.22 has no HTTP/3), its entrypoint with http3: {},
#     once over HTTP/3 (16 gtlsclient QUIC connections, up to 100 streams each) and once over
#     TLS h2 to the same port as the bench's h3 row (h2load -c16 -m32): bench/h3_cost.sh.
#     H3_ONLY=1: the HTTP/3 run alone. WORKERS=N: portier with N workers (default 1; callgrind
#     counts every thread's instructions together).
#   bench/tls_h1_cost.sh strace    [PORTIER] [N]  syscalls per request, by name
#   bench/tls_h1_cost.sh cpu       [PORTIER] [N]  CPU time per request, user and system apart
#     (from /proc/PID/stat in clock ticks: N of 200000 or more; the server on CPU 0, the load
#     on CPU 1; wall-clock, so noisy)
# Each figure is a slope: the counts of a run of N/5 requests are subtracted from those of a
# run of N requests (both on 64 new connections), so the 64 handshakes of a run cancel out.
set -euo pipefail
MODE=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORTIER=${2:-$ROOT/build/portier}; N=${3:-20000}; N1=$((N / 5))
TMP=$(mktemp -d /tmp/portier-tlscost-XXXXXX)
. "$ROOT/bench/lib/backend.sh"
H3_CONNS=16
load() {  # $1 = port, $2 = requests
  [[ -n "${OVER_H3:-}" ]] && { load_h3 "$@"; return; }
  local shape="--h1 -c64"
  [[ -n "${H2:-}" ]] && shape="-c16 -m32"  # the bench's "HTTPS h2" row: 16 connections x 32 streams
  # The h3 row's h2 run (-m100 would overflow the 1,024-connection upstream pool).
  [[ -n "${H3:-}" ]] && shape="-c$H3_CONNS -m32"
  h2load $shape -t1 -n "$2" --tls13-ciphers=TLS_AES_128_GCM_SHA256 \
    --connect-to="127.0.0.1:$1" "https://bench.local:$1/" | grep -E "^status codes"
}

load_h3() {  # $1 = port, $2 = requests: H3_CONNS gtlsclient connections (Debian's h2load has no QUIC)
  local pids=() p failed=0
  for _ in $(seq "$H3_CONNS"); do
    gtlsclient --quiet --exit-on-all-streams-close --timeout=120s --handshake-timeout=120s \
      --sni=bench.local -n "$(($2 / H3_CONNS))" 127.0.0.1 "$1" "https://bench.local:$1/" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  echo "gtlsclient: $H3_CONNS connections x $(($2 / H3_CONNS)) requests, $failed failed"
}
check_h3() {  # $1 = port: 16 requests on one connection must all answer 200 over ALPN h3
  local log ok
  log=$(gtlsclient --no-quic-dump --no-http-dump --exit-on-all-streams-close --timeout=120s \
    --handshake-timeout=120s --sni=bench.local -n 16 127.0.0.1 "$1" "https://bench.local:$1/" 2>&1)
  ok=$(grep -c '^http: stream 0x[0-9a-f]* \[:status: 200\]$' <<<"$log" || true)
  grep -q "Negotiated ALPN is h3" <<<"$log" && [[ $ok == 16 ]] ||
    { echo "HTTP/3 check failed: $ok of 16 answered 200" >&2; exit 1; }
}

make_cert
start_backend

PORTIER_PORT=$(free_port); NGINX_PORT=$(free_port)
HTTP3=""; [[ -n "${H3:-}" ]] && HTTP3=", http3: {}"  # QUIC on the same port, over UDP
cat > "$TMP/portier.yml" <<YML
workers: ${WORKERS:-1}
diagnostics: {address: "127.0.0.1:$(free_port)"}
state: {directory: "$TMP/state"}
entryPoints:
  websecure: {address: "127.0.0.1:$PORTIER_PORT"$HTTP3}
providers: {file: {filename: "$TMP/dynamic.yml"}}
log: {level: error}
YML
write_tls_routes
# As bench/configs/nginx.conf, in one process (master_process off) so that one PID is measured.
cat > "$TMP/nginx.conf" <<NGINX
worker_processes 1; master_process off; daemon off; pid $TMP/nginx.pid; error_log $TMP/nginx.log error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 300s; $(nginx_temps)
  upstream backend { server 127.0.0.1:$BACKEND; keepalive 1024; keepalive_requests 100000000; keepalive_timeout 300s; }
  server { listen 127.0.0.1:$NGINX_PORT ssl http2 backlog=4096;
    ssl_certificate $TMP/cert.pem; ssl_certificate_key $TMP/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header Host \$host; } } }
NGINX

# The summary line's counts: Ir, or with the cache simulation Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
counts() { grep -h "^summary:" "$1" | cut -d' ' -f2-; }

measure_callgrind() {  # $1 = name, $2 = port, rest = command
  local name=$1 port=$2 pid a b; shift 2
  valgrind --tool=callgrind ${CACHE:+--cache-sim=yes} --callgrind-out-file="$TMP/cg-$name" "$@" 2>"$TMP/vg-$name.log" &
  pid=$!; PIDS+=($pid)
  wait_url "https://127.0.0.1:$port/"
  [[ -n "${OVER_H3:-}" ]] && check_h3 "$port"
  load "$port" 5000 >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  a=$(load "$port" "$N1")
  callgrind_control -d "$pid" >/dev/null 2>&1
  b=$(load "$port" "$N")
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local f1 f2
  f1=$(ls "$TMP"/cg-"$name".* | sort -t. -k2 -n | head -1); f2=$(ls "$TMP"/cg-"$name".* | sort -t. -k2 -n | sed -n 2p)
  paste <(counts "$f1" | tr ' ' '\n') <(counts "$f2" | tr ' ' '\n') |
    awk -v name="$name" -v n="$((N - N1))" '{ d[NR] = ($2 - $1) / n }
      END { printf "%-8s %8.0f instructions/request", name, d[1]
            if (NR >= 9) printf "  D1 misses %.0f  LL misses %.0f", d[5] + d[6], d[8] + d[9]
            printf "\n" }'
  echo "         ($a | $b)"
  [[ -n "${KEEP:-}" ]] && cp "$f1" "$KEEP/cg-$name-n1" && cp "$f2" "$KEEP/cg-$name-n"
  rm -f "$TMP"/cg-"$name".*
}

strace_counts() {  # $1 = pid, $2 = port, $3 = requests, $4 = output file: "name calls" lines
  strace -f -c -q -p "$1" -o "$4.raw" & local st=$!
  sleep 1  # let strace attach to every thread before the load starts
  load "$2" "$3" >/dev/null
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  awk '$1 ~ /^[0-9.]+$/ && NF >= 5 { print $NF, $4 }' "$4.raw" | sort > "$4"
}

measure_strace() {  # $1 = name, $2 = port, rest = command
  local name=$1 port=$2 pid; shift 2
  "$@" >"$TMP/out-$name.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_url "https://127.0.0.1:$port/"
  load "$port" 5000 >/dev/null
  strace_counts "$pid" "$port" "$N1" "$TMP/st1-$name"
  strace_counts "$pid" "$port" "$N" "$TMP/st2-$name"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  printf '%-8s syscalls/request:' "$name"
  join -a2 -e0 -o 0,1.2,2.2 "$TMP/st1-$name" "$TMP/st2-$name" |
    awk -v n="$((N - N1))" '$1 != "total" { d = ($3 - $2) / n; t += d; if (d >= 0.01) printf " %s %.2f", $1, d } END { printf "  total %.2f\n", t }'
}

cpu_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }  # utime stime, clock ticks

measure_cpu() {  # $1 = name, $2 = port, rest = command
  local name=$1 port=$2 pid t0 t1 t2; shift 2
  taskset -c 0 "$@" >"$TMP/out-$name.log" 2>&1 &
  pid=$!; PIDS+=($pid)
  wait_url "https://127.0.0.1:$port/"
  taskset -c 1 bash -c "$(declare -f load load_h3); H2='${H2:-}' H3='' load $port 5000" >/dev/null
  t0=$(cpu_ticks "$pid")
  taskset -c 1 bash -c "$(declare -f load load_h3); H2='${H2:-}' H3='' load $port $N1" >/dev/null
  t1=$(cpu_ticks "$pid")
  taskset -c 1 bash -c "$(declare -f load load_h3); H2='${H2:-}' H3='' load $port $N" >/dev/null
  t2=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$t0 $t1 $t2" | awk -v name="$name" -v n="$((N - N1))" -v hz="$(getconf CLK_TCK)" \
    '{ u = (($5 - $3) - ($3 - $1)) / n / hz * 1e6; s = (($6 - $4) - ($4 - $2)) / n / hz * 1e6
       printf "%-8s user %.2f us/request  system %.2f us/request  total %.2f\n", name, u, s, u + s }'
}

run() {  # $1 = name, $2 = port, rest = command
  case $MODE in
    callgrind) measure_callgrind "$@" ;;
    strace) measure_strace "$@" ;;
    cpu) measure_cpu "$@" ;;
    *) echo "unknown mode $MODE" >&2; exit 2 ;;
  esac
}
if [[ -n "${H3:-}" ]]; then
  OVER_H3=1 run portier-h3 "$PORTIER_PORT" "$PORTIER" run --config "$TMP/portier.yml"
  [[ -n "${H3_ONLY:-}" ]] && exit 0
  run portier-h2 "$PORTIER_PORT" "$PORTIER" run --config "$TMP/portier.yml"
  exit 0
fi
run portier "$PORTIER_PORT" "$PORTIER" run --config "$TMP/portier.yml"
run nginx "$NGINX_PORT" nginx -c "$TMP/nginx.conf"
