#!/usr/bin/env bash
# portier.sh: set-up, build and run on a fresh Debian 12 machine (as root, or with sudo).
#   ./portier.sh test   install what is missing, build, run the whole suite through ctest
#   ./portier.sh run    install, build, start a demo backend and portier on examples/local.yml
# Knobs: PORTIER_TEST_FILTER (ctest -R regex), PORTIER_JOBS (build jobs, default 2),
# PORTIER_TEST_JOBS (tests run at once, default 3: most e2e modules wait on timers and daemons,
# so a third one fills the idle CPU), BUILD_DIR (default build).
# `test` also builds the portier binary and the unit tests with AddressSanitizer and UBSan in
# $BUILD_DIR-sanitize for the sanitize.* tests (tests/CMakeLists.txt),
# and the libFuzzer targets with clang in $BUILD_DIR-fuzz for the fuzz.* tests (tests/fuzz/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
JOBS="${PORTIER_JOBS:-2}"
TEST_JOBS="${PORTIER_TEST_JOBS:-3}"

BUILD_PACKAGES=(cmake ninja-build g++ pkg-config libboost1.81-dev libssl-dev libnghttp2-dev
  libc-ares-dev nlohmann-json3-dev libyaml-cpp-dev catch2 libre2-dev libaprutil1-dev
  zlib1g-dev libbrotli-dev libzstd-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev libgnutls28-dev)
TEST_PACKAGES=(curl fail2ban goaccess prometheus nghttp2-client nghttp2-server socat dnsutils python3 python3-websockets python3-h2 openssl docker.io
  pebble busybox-static iproute2 dnsmasq-base clang-14 libclang-rt-14-dev apache2-utils brotli zstd
  haproxy chromium python3-grpcio ngtcp2-client caddy)

log() { printf '[portier.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Installs the packages that dpkg does not report as installed; a warm machine never hits apt.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != installed ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  log "installing: ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get install -y --no-install-recommends "${missing[@]}"
}

# The release build: the binary; the unit tests are built and run in the sanitizer tree only.
build() {
  if [[ ! -f "$BUILD_DIR/build.ninja" ]] || ! grep -q '^PORTIER_UNIT_TESTS:BOOL=OFF' "$BUILD_DIR/CMakeCache.txt"; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTIER_UNIT_TESTS=OFF
  fi
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

# The sanitizer build: the binary and the unit test binaries, which ctest runs as sanitize.*
# (-O1 keeps it quick to build and to run).
build_sanitized() {
  local dir="$BUILD_DIR-sanitize"
  if [[ ! -f "$dir/build.ninja" ]] || ! grep -q '^BUILD_TESTING:BOOL=ON' "$dir/CMakeCache.txt"; then
    cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
      -DPORTIER_SANITIZE=address,undefined -DBUILD_TESTING=ON
  fi
  cmake --build "$dir" -j "$JOBS"
}

# The libFuzzer build (clang, ASan+UBSan): only the fuzz targets, which ctest runs as fuzz.*
# (tests/fuzz/run.sh).
build_fuzz() {
  local dir="$BUILD_DIR-fuzz"
  if [[ ! -f "$dir/build.ninja" ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DPORTIER_FUZZ=ON -DBUILD_TESTING=OFF
  fi
  cmake --build "$dir" -j "$JOBS" --target fuzzers
}

cmd_test() {
  ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  build
  build_sanitized
  build_fuzz
  local args=(--test-dir "$BUILD_DIR" --output-on-failure -j "$TEST_JOBS")
  if [[ -n "${PORTIER_TEST_FILTER:-}" ]]; then
    args+=(-R "$PORTIER_TEST_FILTER")
  fi
  local rc=0
  ctest "${args[@]}" || rc=$?
  exit "$rc"
}

port_in_use() {  # $1 = host, $2 = port
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not "in use"
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}

cmd_run() {
  ensure_packages "${BUILD_PACKAGES[@]}" python3
  build
  cd "$ROOT"  # examples/local.yml names its dynamic file relative to the repository root
  local host=127.0.0.1 port
  for port in 8081 8080 7111; do
    if port_in_use "$host" "$port"; then
      die "$host:$port is already in use (examples/local.yml needs 8080 and 7111, the demo backend 8081); stop what listens there (ss -ltnp 'sport = :$port') and retry"
    fi
  done
  python3 "$ROOT/tests/e2e/backend.py" --name hello --listen "$host:8081" &
  local backend_pid=$!
  trap 'kill "$backend_pid" 2>/dev/null || true; wait "$backend_pid" 2>/dev/null || true' EXIT
  cat >&2 <<EOF

portier is starting on examples/local.yml (Ctrl-C to stop). Try:
  curl -H 'Host: hello.localhost' http://127.0.0.1:8080/
  curl http://127.0.0.1:8080/                     # no router matches: 404
  curl http://127.0.0.1:7111/health
  curl http://127.0.0.1:7111/routes.json
Edit examples/local-dynamic.yml while it runs: routes reload without a restart.

EOF
  # Not exec: the trap must stop the backend when portier exits.
  local rc=0
  "$BUILD_DIR/portier" run --config examples/local.yml "$@" || rc=$?
  exit "$rc"
}

case "${1:-}" in
  test) shift; cmd_test "$@" ;;
  run) shift; cmd_run "$@" ;;
  *)
    echo "usage: $0 test | run [portier flags]" >&2
    exit 2
    ;;
esac
