#!/usr/bin/env bash
# User-space instructions per request of portier (one worker, callgrind) over HTTP/3 and over
# TLS h2 as in bench.py's h3 row, the same port, certificate and 1 KiB nginx backend (issue 20's
# benchmark; load-independent, unlike the h3 row of bench.py on this shared VM).
#   bench/h3_cost.sh [PORTIER] [N] [RUNS]   (defaults build/portier, 20000, 3)
# Each run is `H3=1 bench/tls_h1_cost.sh callgrind`: counters zeroed after a 5,000-request
# warm-up, the slope between a run of N/5 and one of N requests, each on 16 new connections
# (16 gtlsclient QUIC connections, up to 100 streams each; h2load -c16 -m32), so the
# handshakes cancel. Prints every run, then the median and range per protocol.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PORTIER=${1:-$HERE/../build/portier}; N=${2:-20000}; RUNS=${3:-3}
OUT=$(mktemp /tmp/portier-h3cost-XXXXXX)
trap 'rm -f "$OUT"' EXIT
for i in $(seq "$RUNS"); do
  echo "run $i/$RUNS" >&2
  H3=1 "$HERE/tls_h1_cost.sh" callgrind "$PORTIER" "$N" | tee -a "$OUT"
done
awk '$3 == "instructions/request" { v[$1] = v[$1] " " $2 }
  END { for (name in v) print name, v[name] }' "$OUT" | sort | while read -r name values; do
  sorted=$(tr ' ' '\n' <<<"$values" | sort -n | tr '\n' ' ')
  awk -v name="$name" '{ printf "%-10s median %6.0f instructions/request (range %.0f-%.0f, %d runs)\n",
    name, $(int((NF + 1) / 2)), $1, $NF, NF }' <<<"$sorted"
done
