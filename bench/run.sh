#!/usr/bin/env bash
# Benchmark harness entry point: installs the missing tools (Debian, as root), then runs
# bench/bench.py. Usage: bench/run.sh [--quick|--full] [bench.py options]; see bench/README.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

need=()
command -v nginx >/dev/null || need+=(nginx-light)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
command -v haproxy >/dev/null || need+=(haproxy)
command -v caddy >/dev/null || need+=(caddy)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v gtlsclient >/dev/null || need+=(ngtcp2-client)  # the h3 scenario's HTTP/3 client
command -v openssl >/dev/null || need+=(openssl)
command -v taskset >/dev/null || need+=(util-linux)
command -v socat >/dev/null || need+=(socat)
command -v cc >/dev/null || need+=(gcc)  # the UDP and TLS handshake tools are compiled per run
[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)  # tools/tls_full_hs.c links OpenSSL
case " $* " in
  *" --micro "*)  # Google Benchmark + what building the micro-benchmark target needs
    [ -e /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
    command -v cmake >/dev/null || need+=(cmake)
    command -v ninja >/dev/null || need+=(ninja-build);;
esac
if [ ${#need[@]} -gt 0 ]; then
  echo "[bench] installing: ${need[*]}" >&2
  # policy-rc.d stops the packages from starting their distro services during the install.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 || status=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "${status:-0}" = 0 ] || exit "$status"
  # Stop distro instances if something started them anyway (no systemctl here): by pidfile.
  for pidfile in /run/nginx.pid /run/haproxy.pid; do
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
fi
exec /usr/bin/python3 "$here/bench.py" "$@"
