#pragma once
// Peek parser for a TLS ClientHello: SNI and ALPN for TCP routing (HostSNI, ALPN) before
// deciding between passthrough and termination. Pure function of the bytes, any thread.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace portier::tls {

enum class HelloStatus {
  need_more,  // a valid prefix of a ClientHello: read more bytes and call again
  not_tls,    // the stream does not start with a TLS handshake record
  ok,         // `out` filled
  invalid,    // starts like TLS but is malformed or over the size limit
};

struct ClientHelloInfo {
  std::string sni;                // first host_name, lowercased, no trailing dot; "" = none
  std::vector<std::string> alpn;  // in the client's order
};

// The largest ClientHello handshake message accepted (body, without its 4-byte header).
inline constexpr size_t kMaxClientHello = 16384;

// `bytes` are all bytes received so far from the start of the connection; the ClientHello may
// span several records. Never reads outside `bytes`; `out` is only written when ok.
HelloStatus parse_client_hello(std::span<const uint8_t> bytes, ClientHelloInfo& out);

}  // namespace portier::tls
