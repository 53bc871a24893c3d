// libFuzzer target: the TLS ClientHello peek parsers, tls::parse_client_hello and the one the
// TCP router uses today (proxy::detail::parse_client_hello in proxy/client_hello_peek.cpp).
// Input: the first bytes of a connection. Checks: no crash; "incomplete" asks for more bytes
// than given (else the peek would wait forever); a parser that accepts the input never
// rejects a prefix of it (the bytes may arrive in any segments); an accepted SNI is lowercase.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proxy/client_hello_peek.hpp"
#include "tls/client_hello.hpp"

using namespace portier;

namespace {

void check_lowercase(const std::string& sni) {
  for (char c : sni)
    if (c >= 'A' && c <= 'Z') std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);

  tls::ClientHelloInfo info;
  tls::HelloStatus s = tls::parse_client_hello(bytes, info);
  if (s == tls::HelloStatus::ok) {
    check_lowercase(info.sni);
    for (size_t cut : {size / 2, size - 1, size_t{5}, size_t{1}}) {
      if (cut >= size) continue;
      tls::ClientHelloInfo partial;
      tls::HelloStatus ps = tls::parse_client_hello(bytes.first(cut), partial);
      if (ps != tls::HelloStatus::need_more && ps != tls::HelloStatus::ok) std::abort();
    }
  }

  proxy::detail::ClientHelloInfo peek;
  proxy::detail::HelloStatus p = proxy::detail::parse_client_hello(bytes, peek);
  if (p == proxy::detail::HelloStatus::incomplete && peek.needed <= size) std::abort();
  if (p == proxy::detail::HelloStatus::complete) {
    check_lowercase(peek.sni);
    for (size_t cut : {size / 2, size - 1, size_t{5}, size_t{1}}) {
      if (cut >= size) continue;
      proxy::detail::ClientHelloInfo partial;
      proxy::detail::HelloStatus ps = proxy::detail::parse_client_hello(bytes.first(cut), partial);
      if (ps != proxy::detail::HelloStatus::incomplete && ps != proxy::detail::HelloStatus::complete) std::abort();
    }
  }
  return 0;
}
