#pragma once
// The compiled form of a serversTransport (Traefik's http.serversTransports): dial and
// response-head timeouts, idle pool limits and, for https servers, the client TLS context.
// Built on the control thread by compile_runtime (loading CA files reads the disk: never on a
// worker), immutable afterwards and shared by every worker and the health checker. OpenSSL
// allows SSL objects to be created from one SSL_CTX on several threads at once.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "config/dynamic.hpp"

namespace portier::proxy {

struct UpstreamTransport {
  std::string name;  // qualified serversTransport name; "" for the default transport
  uint64_t serial = 0;  // differs between transports built from different settings (pool keys)
  std::string server_name;  // SNI and certificate name for https servers ("" = the URL host)
  bool insecure_skip_verify = false;
  std::chrono::milliseconds dial_timeout{30000};  // connect + TLS handshake
  std::chrono::milliseconds response_header_timeout{0};  // 0 = the proxy's upstream timeout
  std::chrono::milliseconds idle_conn_timeout{90000};
  size_t max_idle_per_host = 0;  // 0 = the pool's default
  // Client context for https servers: system roots + rootCAs, ALPN http/1.1, TLS >= 1.2.
  // Null until some https server uses the transport.
  std::unique_ptr<boost::asio::ssl::context> tls;
};

// Builds a transport from its configuration. With `with_tls`, also the client TLS context;
// rootCAs that cannot be loaded are reported in *problems and left out (as Traefik does:
// servers signed by them then fail verification, 502). The same name, settings and
// `with_tls` as a transport still alive return that transport (and its problems again), so an
// unrelated configuration change neither reloads CA files nor orphans pooled connections.
// Thread-safe.
std::shared_ptr<const UpstreamTransport> make_upstream_transport(const std::string& name,
                                                                 const config::ServersTransport& cfg,
                                                                 bool with_tls,
                                                                 std::vector<std::string>* problems);

// A transport outside http.serversTransports (forwardAuth's `tls`), not cached: `cfg`'s
// rootCAs, insecureSkipVerify and timeouts, plus a client certificate when `cert` and `key`
// (PEM file paths or inline PEM) are set. Null with *error when a file cannot be used.
// Control thread (reads files).
std::shared_ptr<const UpstreamTransport> make_client_transport(const std::string& label,
                                                               const config::ServersTransport& cfg,
                                                               bool with_tls, const std::string& cert,
                                                               const std::string& key, std::string* error);

}  // namespace portier::proxy
