#!/usr/bin/env bash
# HTTP/3 with 2 workers: requests/s and server CPU per request of two portier binaries, meant
# for one UDP socket per address (one worker serves it) against one socket per worker steered
# by connection ID (issue 20 item 1). Wall clock, nothing pinned (the question is the whole
# box: proxy, backend and clients share its CPUs), so run it on a quiet machine.
#   bench/h3_sockets.sh PORTIER_A PORTIER_B [RUNS] [CONNS] [REQUESTS_PER_CONN]
#     (defaults 3 runs, 16 connections x 1,000 requests)
# Each run starts a fresh portier (workers: 2, its websecure entrypoint with http3: {}, a 1 KiB
# nginx backend), checks 16 requests over ALPN h3, warms up (CONNS x 100 requests), then
# measures CONNS gtlsclient QUIC connections (one process each, up to 100 streams in flight)
# asking REQUESTS_PER_CONN requests each: req/s over the wall time of the load, server CPU
# µs/request (utime+stime of the process from /proc/PID/stat) and its kernel share (stime in %
# of utime+stime), the busiest thread's CPU in % of
# one core over the load's wall time (near 100: that thread is the limit) and the gtlsclient
# processes' CPU in % of one core (200 = both CPUs of this box). The binaries alternate
# (A B A B ...); prints every run, then per binary the median and range.
set -euo pipefail
A=$1; B=$2; RUNS=${3:-3}; CONNS=${4:-16}; PER_CONN=${5:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/portier-h3sockets-XXXXXX)
. "$ROOT/bench/lib/backend.sh"
ticks() { awk '{ print $14 + $15 }' "$1"; }  # utime + stime of a /proc stat file, in clock ticks
HZ=$(getconf CLK_TCK)

make_cert
start_backend

write_tls_routes

load() {  # $1 = port, $2 = requests per connection: CONNS gtlsclient processes; prints failures
  # (their CPU time, children's utime+stime in ticks, goes to $TMP/client-ticks)
  local pids=() p failed=0 c0 c1 me=$BASHPID  # the subshell of $(load ...): it reaps the clients
  c0=$(awk '{ print $16 + $17 }' "/proc/$me/stat")
  for _ in $(seq "$CONNS"); do
    gtlsclient --quiet --exit-on-all-streams-close --timeout=120s --handshake-timeout=120s \
      --sni=bench.local -n "$2" 127.0.0.1 "$1" "https://bench.local:$1/" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  c1=$(awk '{ print $16 + $17 }' "/proc/$me/stat")
  echo $((c1 - c0)) > "$TMP/client-ticks"
  echo "$failed"
}

run() {  # $1 = label, $2 = binary: one line "label req/s cpu_us/request busiest_thread_% client_% sys_%"
  local label=$1 bin=$2 port pid t0 t1 c0 c1 s0 s1 failed
  port=$(free_port)
  cat > "$TMP/portier.yml" <<YML
workers: 2
diagnostics: {address: "127.0.0.1:$(free_port)"}
state: {directory: "$TMP/state-$label"}
entryPoints:
  websecure: {address: "127.0.0.1:$port", http3: {}}
providers: {file: {filename: "$TMP/dynamic.yml"}}
log: {level: error}
YML
  "$bin" run --config "$TMP/portier.yml" >"$TMP/portier-$label.log" 2>&1 & pid=$!; PIDS+=($pid)
  wait_url "https://127.0.0.1:$port/"
  local ok
  ok=$(gtlsclient --no-quic-dump --no-http-dump --exit-on-all-streams-close --timeout=60s --sni=bench.local \
    -n 16 127.0.0.1 "$port" "https://bench.local:$port/" 2>&1 | grep -c '^http: stream 0x[0-9a-f]* \[:status: 200\]$' || true)
  [[ $ok == 16 ]] || { echo "$label: HTTP/3 check failed ($ok of 16)" >&2; exit 1; }
  failed=$(load "$port" 100)
  [[ $failed == 0 ]] || { echo "$label: warm-up: $failed connections failed" >&2; exit 1; }
  declare -A before
  for f in /proc/$pid/task/*/stat; do before[$f]=$(ticks "$f"); done
  c0=$(ticks /proc/$pid/stat); s0=$(awk '{ print $15 }' /proc/$pid/stat); t0=$(date +%s.%N)
  failed=$(load "$port" "$PER_CONN")
  t1=$(date +%s.%N); c1=$(ticks /proc/$pid/stat); s1=$(awk '{ print $15 }' /proc/$pid/stat)
  local busiest=0 d
  for f in /proc/$pid/task/*/stat; do
    d=$(( $(ticks "$f") - ${before[$f]:-0} )); (( d > busiest )) && busiest=$d
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [[ $failed == 0 ]] || { echo "$label: $failed connections failed" >&2; exit 1; }
  awk -v l="$label" -v n="$((CONNS * PER_CONN))" -v t="$(echo "$t1 - $t0" | bc)" -v c="$((c1 - c0))" \
    -v b="$busiest" -v k="$(cat "$TMP/client-ticks")" -v s="$((s1 - s0))" -v hz="$HZ" \
    'BEGIN { printf "%s %.0f %.1f %.0f %.0f %.0f\n", l, n / t, c / hz * 1e6 / n, 100 * b / hz / t, 100 * k / hz / t,
             c ? 100 * s / c : 0 }'
}

echo "# $CONNS connections x $PER_CONN requests, workers: 2; load $(cut -d' ' -f1-3 /proc/loadavg) at start" >&2
for i in $(seq "$RUNS"); do
  run A "$A" | tee -a "$TMP/out"
  run B "$B" | tee -a "$TMP/out"
done
echo "# load $(cut -d' ' -f1-3 /proc/loadavg) at the end" >&2
for label in A B; do
  for col in 2 3 4 5 6; do
    awk -v l="$label" -v c="$col" '$1 == l { print $c }' "$TMP/out" | sort -n | tr '\n' ' ' |
      awk -v l="$label" -v c="$col" 'BEGIN { split("- req/s cpu_us/request busiest_thread_% client_cpu_% kernel_%", name) }
        { printf "%s %-16s median %8.1f (range %.1f-%.1f, %d runs)\n", l, name[c], $(int((NF + 1) / 2)), $1, $NF, NF }'
  done
done
