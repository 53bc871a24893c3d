#pragma once
// Peeking at the first bytes of a TCP connection to learn whether it is TLS and, if so, the
// SNI and ALPN of its ClientHello, WITHOUT consuming anything: the bytes are read with
// recv(MSG_PEEK), so they stay in the kernel receive queue and whoever reads the socket next
// (the backend relay in passthrough, a TLS handshake, the HTTP session) sees the untouched
// stream. Robust to ClientHellos split across segments or records, and to garbage.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "proxy/asio.hpp"
#include "proxy/rule_matcher.hpp"

namespace portier::proxy {

namespace detail {
// ---- TEMPORARY: replace with tls/client_hello.hpp (same signature) once the tls module
// ---- lands; this minimal parser only exists so that proxy/ builds without it.
enum class HelloStatus {
  complete,    // a whole ClientHello was parsed
  incomplete,  // looks like TLS so far; `needed` bytes are required to go on
  not_tls,     // the first bytes are not a TLS handshake record
  malformed,   // TLS record framing, but the ClientHello cannot be parsed (or is too large)
};
struct ClientHelloInfo {
  std::string sni;                // server_name host_name, lowercased; "" if absent
  std::vector<std::string> alpn;  // offered protocols, in order
  size_t needed = 0;              // incomplete: total bytes needed before parsing can progress
};
// Pure function of `data` (the first bytes of the connection). A ClientHello may span several
// handshake records; its total size is bounded by 64 KiB.
HelloStatus parse_client_hello(std::span<const uint8_t> data, ClientHelloInfo& out);
}  // namespace detail

struct PeekLimits {
  size_t max_bytes = 16384 + 5;           // larger ClientHellos count as malformed
  std::chrono::milliseconds timeout{5000};  // first byte to complete ClientHello
};

struct PeekResult {
  enum class Kind {
    tls,      // a complete ClientHello: sni/alpn are set
    plain,    // the first bytes are not TLS (or a broken ClientHello): route as non-TLS
    silent,   // nothing arrived before the timeout: a server-speaks-first client; route as non-TLS
    closed,   // EOF or error before anything usable arrived: drop the connection
  };
  Kind kind = Kind::closed;
  std::string sni;
  std::vector<std::string> alpn;
  size_t peeked = 0;  // bytes seen, all still unread in the socket

  bool usable() const { return kind != Kind::closed; }
  bool offers_alpn(std::string_view protocol) const {
    return std::find(alpn.begin(), alpn.end(), protocol) != alpn.end();
  }
  // The router's view; valid while this result lives.
  ConnView view(const boost::asio::ip::address& client) const {
    return ConnView{sni, alpn, client, kind == Kind::tls};
  }
};

// Worker thread. Waits until the first bytes decide TLS or not (and for TLS, until the whole
// ClientHello is there), bounded by `limits`. The socket's SO_RCVLOWAT is used to sleep until
// enough bytes are queued and is reset to 1 before returning. Consumes nothing.
awaitable<PeekResult> peek_client_hello(tcp::socket& socket, const PeekLimits& limits);

}  // namespace portier::proxy
