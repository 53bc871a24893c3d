#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, one after the other, each for SECONDS (default 60)
# on a copy of its seed corpus tests/fuzz/corpus/<name>/ (the repository's corpus is never
# written to). Fails if any target finds a crash, leak, sanitizer report or timeout, and
# prints the path of the input that caused it (reproduce: <build dir>/tests/fuzz/<name>_fuzz FILE).
#   tests/fuzz/run.sh [SECONDS] [NAME...]      NAME: http1_request, rule, ... (default: all)
#   --build-dir DIR   the fuzz build (default: build-fuzz beside this repository's build/)
#   --no-build        do not configure or build; fail if a binary is missing (ctest uses this)
#   --seed N          libFuzzer's -seed: the inputs tried are then a fixed sequence, so a
#                     time-bounded run tries a prefix of it (ctest uses --seed 1: CI does not
#                     go red on a bug that a random run happened to find first)
# Building needs clang-14 and libclang-rt-14-dev (./portier.sh test installs them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="$ROOT/build-fuzz"
BUILD=1
SECONDS_EACH=60
SEED_ARGS=()
seconds_given=0
NAMES=()
while (($#)); do
  case "$1" in
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --seed) SEED_ARGS=(-seed="$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *)
      if ((!seconds_given)) && [[ "$1" =~ ^[0-9]+$ ]]; then
        SECONDS_EACH="$1"; seconds_given=1
      else
        NAMES+=("$1")
      fi
      shift ;;
  esac
done
if ((${#NAMES[@]} == 0)); then
  for src in "$ROOT"/tests/fuzz/*_fuzz.cpp; do
    n="$(basename "$src" .cpp)"
    NAMES+=("${n%_fuzz}")
  done
fi

if ((BUILD)); then
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DPORTIER_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j "${PORTIER_JOBS:-2}" --target fuzzers
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
work="$(mktemp -d "${TMPDIR:-/tmp}/portier-fuzz.XXXXXX")"
failed=()
for name in "${NAMES[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/${name}_fuzz"
  seeds="$ROOT/tests/fuzz/corpus/$name"
  if [[ ! -x "$bin" ]]; then
    echo "fuzz $name: no binary $bin (build it: tests/fuzz/run.sh, or ./portier.sh test)" >&2
    failed+=("$name"); continue
  fi
  if [[ ! -d "$seeds" ]]; then
    echo "fuzz $name: no seed corpus $seeds" >&2
    failed+=("$name"); continue
  fi
  mkdir -p "$work/$name/corpus" "$work/$name/crashes"
  cp -r "$seeds/." "$work/$name/corpus/"
  log="$work/$name/log.txt"
  start=$(date +%s)
  rc=0
  "$bin" "$work/$name/corpus" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 "${SEED_ARGS[@]}" \
    -artifact_prefix="$work/$name/crashes/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  if ((rc != 0)) || [[ -n "$(ls -A "$work/$name/crashes")" ]]; then
    echo "fuzz $name: FAILED (exit $rc) after $(( $(date +%s) - start )) s; last lines of $log:" >&2
    grep -v '^#[0-9]' "$log" | tail -n 40 >&2
    for f in "$work/$name/crashes"/*; do
      [[ -e "$f" ]] && echo "fuzz $name: crashing input: $f (reproduce: $bin $f)" >&2
    done
    failed+=("$name")
  else
    echo "fuzz $name: ok, $runs runs in $(( $(date +%s) - start )) s"
    rm -rf "${work:?}/$name"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs and logs kept in $work)" >&2
  exit 1
fi
rm -rf "$work"
