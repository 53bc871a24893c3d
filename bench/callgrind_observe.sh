#!/usr/bin/env bash
# User-space instructions per HTTP/1.1 keep-alive request (callgrind, one worker) with the
# observability off, with metrics.prometheus on, with the JSON access log on, and with both
# (issue 17's benchmark item). A 1 KiB nginx backend; h2load --h1 -c64 warms the pools up, the
# counters are zeroed, then N requests are counted. Usage: bench/callgrind_observe.sh [N]
# Environment: PORTIER (binary), PROTOCOL=h1|h2c (default h1), CONFIGS (the configurations to
# measure, default all: "off metrics accesslog-json accesslog-common both"), KEEP (a directory
# for the callgrind files). The data plane's cost without observability, over both protocols:
# CONFIGS=off PROTOCOL=h2c bench/callgrind_observe.sh (and PROTOCOL=h1).
set -euo pipefail
N=${1:-20000}
case "${PROTOCOL:-h1}" in
  h1) PROTO_FLAG=(--h1) ;;
  h2c) PROTO_FLAG=() ;;
  *) echo "PROTOCOL must be h1 or h2c" >&2; exit 2 ;;
esac
CONFIGS=" ${CONFIGS:-off metrics accesslog-json accesslog-common both} "
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORTIER=${PORTIER:-$ROOT/build/portier}
TMP=$(mktemp -d /tmp/portier-cg-XXXXXX)
. "$ROOT/bench/lib/backend.sh"
start_backend
cat > "$TMP/dynamic.yml" <<DYN
http:
  routers:
    all: {rule: "PathPrefix(\`/\`)", service: b, entryPoints: [web]}
  services:
    b: {loadBalancer: {servers: [{url: "http://127.0.0.1:$BACKEND"}]}}
DYN

measure() {  # $1 = name, $2 = extra static YAML
  [[ "$CONFIGS" == *" $1 "* ]] || return 0
  local web diag metrics pid out
  web=$(free_port); diag=$(free_port); metrics=$(free_port)
  cat > "$TMP/$1.yml" <<YML
workers: 1
diagnostics: {address: "127.0.0.1:$diag"}
state: {directory: "$TMP/state-$1"}
entryPoints:
  web: {address: "127.0.0.1:$web"}
  metrics: {address: "127.0.0.1:$metrics"}
providers: {file: {filename: "$TMP/dynamic.yml"}}
log: {level: error}
$2
YML
  valgrind --tool=callgrind --callgrind-out-file="$TMP/cg-$1" "$PORTIER" run --config "$TMP/$1.yml" 2>"$TMP/vg-$1.log" &
  pid=$!; PIDS+=($pid)
  wait_url "http://127.0.0.1:$web/"
  h2load "${PROTO_FLAG[@]}" -c64 -n 5000 "http://127.0.0.1:$web/" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  out=$(h2load "${PROTO_FLAG[@]}" -c64 -n "$N" "http://127.0.0.1:$web/" | grep -E "^status codes")
  callgrind_control -d "$pid" >/dev/null 2>&1
  [[ -n "${KEEP:-}" ]] && cp "$TMP"/cg-"$1".* "$KEEP"/ 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local ir
  ir=$(grep -h "^summary:\|^totals:" "$TMP"/cg-"$1".* | awk '{print $2}' | sort -n | tail -1)
  printf '%-22s %8.0f instructions/request   (%s)\n' "$1" "$(echo "$ir / $N" | bc -l)" "$out"
}

measure off ""
measure metrics "metrics: {prometheus: {entryPoint: metrics}}"
measure accesslog-json "accessLog: {filePath: \"$TMP/access.log\", format: json}"
measure accesslog-common "accessLog: {filePath: \"$TMP/access-common.log\"}"
measure both "metrics: {prometheus: {entryPoint: metrics, addRoutersLabels: true}}
accessLog: {filePath: \"$TMP/access-both.log\", format: json}"
