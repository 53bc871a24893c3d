#pragma once
// The compiled, immutable TCP and UDP routing of one dynamic configuration. Built on the
// control thread (compile_tcp_runtime), published through core::Snapshot<TcpRuntime>, pinned
// by each connection / UDP session for its whole life. Safe to read from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"
#include "proxy/rule_matcher.hpp"
#include "proxy/tcp_gate.hpp"
#include "proxy/tcp_transport.hpp"
#include "proxy/weighted_schedule.hpp"

namespace portier::proxy {

struct TcpBackend {
  std::string address;  // as configured, "127.0.11.2:5432"
  boost::asio::ip::tcp::endpoint endpoint;
  int weight = 1;
  bool tls = false;  // TLS to the server, with the service transport's client context
};

struct TcpServiceRuntime {
  std::string name;
  std::vector<TcpBackend> servers;
  std::vector<uint32_t> schedule;  // smooth weighted round-robin order of server indices
  std::shared_ptr<const TcpTransport> transport;  // never null once compiled
  int proxy_protocol = 0;  // PROXY header version sent to the server; 0 = none
  // After one side's EOF, the deadline for the other side to finish; negative = none (the
  // idle timeout still applies).
  std::chrono::milliseconds termination_delay{-1};
};

struct TcpRouteRuntime {
  std::string name;
  int priority = 0;  // effective: explicit, else rule length; a bare HostSNI(`*`) ranks last
  TcpMatcher matcher;
  bool catch_all = false;    // rule is exactly HostSNI(`*`)
  bool tls = false;          // has a tls section: matches TLS connections only
  bool passthrough = false;  // tls.passthrough: forward the raw TLS stream
  uint32_t service = 0;
  std::shared_ptr<const TcpGate> gate;  // the router's middlewares; null when it has none
  // TLS is terminated by portier, the backend gets plaintext.
  bool terminates_tls() const { return tls && !passthrough; }
};

// Routes of one TCP entrypoint, as indices into TcpRuntime::routes (precedence order).
struct TcpEntryTable {
  std::string entry_point;
  std::vector<uint32_t> tls_routes;    // tried for TLS connections first
  std::vector<uint32_t> plain_routes;  // non-TLS connections; TLS ones if no TLS route matched
  // false only when every route here is a non-TLS HostSNI(`*`): connect at once, read nothing
  // (server-speaks-first protocols such as SMTP).
  bool needs_peek = false;
  bool empty() const { return tls_routes.empty() && plain_routes.empty(); }
};

struct UdpServiceRuntime {
  std::string name;
  std::vector<boost::asio::ip::udp::endpoint> servers;
  std::vector<uint32_t> schedule;
};

struct UdpEntryTable {
  std::string entry_point;
  int32_t service = -1;  // index into udp_services; -1 = no router (datagrams are dropped)
  std::string router;
};

struct TcpRuntime {
  std::vector<TcpRouteRuntime> routes;
  std::vector<TcpServiceRuntime> services;
  std::vector<TcpEntryTable> entries;  // positions of tcp_entry_point_names()
  std::vector<UdpServiceRuntime> udp_services;
  std::vector<UdpEntryTable> udp_entries;  // positions of udp_entry_point_names()
  uint64_t generation = 0;

  // The winning route for a connection on entrypoint `entry`, or nullptr.
  const TcpRouteRuntime* route(size_t entry, const ConnView& conn) const;
  // Index of an entrypoint in `entries` / `udp_entries`, or -1.
  int entry_index(std::string_view name) const;
  int udp_entry_index(std::string_view name) const;
};

// Every entrypoint with protocol tcp (HTTP ones included: TCP routers may share them), in a
// fixed order; a position is the index of TcpRuntime::entries.
std::vector<std::string> tcp_entry_point_names(const config::StaticConfig& cfg);
std::vector<std::string> udp_entry_point_names(const config::StaticConfig& cfg);

// Compiles the merged dynamic tcp and udp sections. Routers that cannot be used are skipped and
// reported in *problems as "tcp router NAME: message" / "udp router NAME: message".
// A router without entryPoints attaches to every entrypoint of its protocol (Traefik).
// The caller sets `generation` (it resets the per-worker round-robin positions) and publishes.
// Control thread only (server names are resolved with the system resolver).
std::shared_ptr<TcpRuntime> compile_tcp_runtime(const config::Dynamic& dyn, const config::StaticConfig& cfg,
                                                      std::vector<std::string>* problems);

// For an entrypoint that has both HTTP routers and TCP routers: where a peeked connection goes.
// TLS connections whose SNI an HTTPS router of this entrypoint serves (`https_serves_sni`, from
// the HTTP side) go to HTTP; otherwise a matching TCP route wins; anything else goes to HTTP
// (which answers 404 / serves the default certificate).
enum class SharedDispatch { http, tcp };
SharedDispatch decide_shared(const TcpRuntime& rt, size_t entry, const ConnView& conn,
                             const std::function<bool(std::string_view sni)>& https_serves_sni);


}  // namespace portier::proxy
