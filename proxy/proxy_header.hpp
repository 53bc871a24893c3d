#pragma once
// The PROXY protocol header (HAProxy's proxy-protocol.txt: v1 text, v2 binary) that a load
// balancer sends ahead of its client's bytes. A pure function of the first bytes of a
// connection, so it can be fuzzed; proxy/proxy_protocol.hpp reads it off a socket.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "proxy/asio.hpp"

namespace portier::proxy {

struct ProxyHeader {
  enum class Status {
    absent,      // the bytes do not start with a PROXY signature: an ordinary connection
    incomplete,  // a header so far; `needed` bytes are required to go on
    invalid,     // a PROXY signature followed by a header that breaks the specification
    complete,    // a whole header: `length` bytes, `source` set when it names a client
  };
  Status status = Status::incomplete;
  size_t needed = 0;  // incomplete: total bytes needed (at least one more than given)
  size_t length = 0;  // complete: size of the whole header, v2 TLVs included
  // complete: the client's address and port; none for v1 UNKNOWN, v2 LOCAL and v2 address
  // families that are not IP (UNSPEC, UNIX), where the connection's peer stands.
  std::optional<tcp::endpoint> source;
};

// The longest header accepted: a v2 header with 4 KiB of addresses and TLVs (go-proxyproto,
// which Traefik uses, refuses longer ones); a v1 line has 107 bytes at most.
inline constexpr size_t kProxyHeaderMax = 16 + 4096;

// Parses the header at the start of `data`; complete only once all `length` bytes are in
// `data`. v2 TLVs are skipped, not interpreted.
ProxyHeader parse_proxy_header(std::span<const uint8_t> data);

// The header portier sends to a server ahead of its client's bytes: `version` 1 (text) or 2
// (binary, no TLVs), naming the client's address `source` and the address it connected to,
// `destination`. IPv4 when both are IPv4 (v4-mapped IPv6 counts as IPv4), else TCP6 with IPv4
// addresses v4-mapped. parse_proxy_header reads back what this writes.
std::string write_proxy_header(int version, const tcp::endpoint& source, const tcp::endpoint& destination);

}  // namespace portier::proxy
