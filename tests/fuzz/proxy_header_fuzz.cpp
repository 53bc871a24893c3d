// libFuzzer target: the PROXY protocol header parser (proxy/proxy_header.cpp), which reads the
// first bytes of every connection on an entrypoint with proxyProtocol. Input: those bytes.
// Checks: no crash; "incomplete" asks for more bytes than given (else the read would wait
// forever) and no more than the longest header; "complete" lies within the bytes given; the
// verdict on any shorter prefix of a complete header is "incomplete" (the bytes may arrive in
// any segments), and a prefix of bytes without a header never looks like a complete one.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proxy/proxy_header.hpp"

using namespace portier::proxy;
using Status = ProxyHeader::Status;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  ProxyHeader h = parse_proxy_header(bytes);
  if (h.status == Status::incomplete && (h.needed <= size || h.needed > kProxyHeaderMax)) std::abort();
  if (h.status == Status::complete && (h.length == 0 || h.length > size || h.length > kProxyHeaderMax))
    std::abort();
  for (size_t cut : {size_t{1}, size_t{5}, size_t{13}, size_t{16}, size / 2, size - 1}) {
    if (cut == 0 || cut >= size) continue;
    ProxyHeader p = parse_proxy_header(bytes.first(cut));
    if (h.status == Status::complete && cut < h.length && p.status != Status::incomplete) std::abort();
    if (h.status == Status::absent && p.status != Status::absent && p.status != Status::incomplete) std::abort();
  }
  return 0;
}
