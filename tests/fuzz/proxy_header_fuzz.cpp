// libFuzzer target: the PROXY protocol header parser (proxy/proxy_header.cpp), which reads the
// first bytes of every connection on an entrypoint with proxyProtocol. Input: those bytes.
// Checks: no crash; "incomplete" asks for more bytes than given (else the read would wait
// forever) and no more than the longest header; "complete" lies within the bytes given; the
// verdict on any shorter prefix of a complete header is "incomplete" (the bytes may arrive in
// any segments), and a prefix of bytes without a header never looks like a complete one. The
// client a header names is what portier writes to a TCP service's servers (proxyProtocol on
// both sides): write_proxy_header of it, v1 and v2, parses back to the same client.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

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
  if (h.status == Status::complete && h.source) {
    tcp::endpoint client = *h.source;
    if (client.address().is_v6() && client.address().to_v6().is_v4_mapped())
      client.address(asio::ip::make_address_v4(asio::ip::v4_mapped, client.address().to_v6()));
    for (int version : {1, 2}) {
      const std::string written = write_proxy_header(version, *h.source, *h.source);
      ProxyHeader back = parse_proxy_header(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(written.data()), written.size()));
      if (back.status != Status::complete || back.length != written.size() || back.source != client) std::abort();
    }
  }
  return 0;
}
