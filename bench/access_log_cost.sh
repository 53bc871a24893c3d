#!/usr/bin/env bash
# User-space instructions per access log line of the formatter alone (callgrind), for commits
# side by side: each commit's proxy/access_log_*.cpp is compiled with bench/tools/
# access_log_lines.cpp (g++ -O2, as the RelWithDebInfo build) and formats N lines per format
# (json, common) for records like callgrind_observe.sh's requests; only run_lines() is counted.
# Seconds per commit instead of a portier build: the step-by-step companion of
# callgrind_observe.sh, which counts the whole process (capture, clocks, writer thread, batching).
# Usage: bench/access_log_cost.sh [N] [COMMIT ...]   (default: 20000, the working tree)
set -euo pipefail
N=${1:-20000}
shift || true
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/portier-alcost-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ $# -gt 0 ] || set -- WORKTREE
printf '%-12s %14s %14s\n' commit "json/line" "common/line"
for commit in "$@"; do
  src="$TMP/src-$commit"
  mkdir -p "$src"
  if [ "$commit" = WORKTREE ]; then
    (cd "$ROOT" && tar -cf - proxy config core) | tar -xf - -C "$src"
  else
    git -C "$ROOT" archive "$commit" proxy config core | tar -xf - -C "$src"
  fi
  # The formatter's sources (access_log_json/text.cpp exist from the split on), not the writer.
  g++ -std=c++20 -O2 -g -I"$src" -o "$src/lines" "$ROOT/bench/tools/access_log_lines.cpp" \
    $(ls "$src"/proxy/access_log_{format,json,text}.cpp 2>/dev/null)
  row=()
  for format in json common; do
    valgrind --tool=callgrind --callgrind-out-file="$src/cg-$format" --collect-atstart=no \
      --toggle-collect='run_lines*' "$src/lines" "$N" "$format" >/dev/null 2>"$src/vg-$format.log"
    ir=$(grep -h "^summary:\|^totals:" "$src/cg-$format" | awk '{print $2}' | sort -n | tail -1)
    row+=("$(echo "$ir / $N" | bc -l)")
  done
  printf '%-12s %14.0f %14.0f\n' "$commit" "${row[0]}" "${row[1]}"
done
