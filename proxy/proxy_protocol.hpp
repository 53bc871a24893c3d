#pragma once
// entryPoints.NAME.proxyProtocol at accept time, as Traefik does it (pkg/server/
// server_entrypoint_tcp.go over pires/go-proxyproto): a connection MAY start with a PROXY v1
// or v2 header. When its sender is trusted (in trustedIPs, or anyone with insecure) the
// header's source address becomes the client's for everything after (rules, ClientIP,
// X-Forwarded-For, allow lists, access log); from any other sender the header is read and
// dropped and the sender stays the client (go-proxyproto's IGNORE policy: the connection is
// served, not refused). A malformed header closes the connection.
#include <memory>
#include <optional>

#include "config/static_config.hpp"
#include "proxy/asio.hpp"
#include "proxy/ip_strategy.hpp"
#include "proxy/watchdog.hpp"

namespace portier::proxy {

// Immutable once built; shared by the listeners of one entrypoint on every worker.
class ProxyProtocolPolicy {
 public:
  // Null when the entrypoint has no proxyProtocol.
  static std::shared_ptr<const ProxyProtocolPolicy> make(const config::EntryPoint& ep);
  bool trusts(const asio::ip::address& sender) const;

 private:
  bool insecure_ = false;
  std::optional<IpRanges> trusted_;
};

// The connection's peer, an IPv4-mapped IPv6 address given as IPv4; nullopt once the socket
// is no longer connected.
std::optional<tcp::endpoint> peer_of(const tcp::socket& socket);

// Worker thread. Removes the PROXY header, if any, from the start of `socket` (the bytes after
// it stay unread for the TLS/HTTP/TCP peeks) and returns the client: the header's source when
// `policy` trusts the peer and the header names one, else the peer. nullopt: close the
// connection (a malformed header, the connection gone, or `deadline` passed before the first
// bytes showed whether a header is there).
awaitable<std::optional<tcp::endpoint>> accept_proxy_header(tcp::socket& socket,
                                                            const ProxyProtocolPolicy& policy,
                                                            Watchdog::Clock::time_point deadline);

}  // namespace portier::proxy
