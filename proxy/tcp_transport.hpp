#pragma once
// The compiled form of a TCP serversTransport (Traefik's tcp.serversTransports, and
// default@internal from the static `tcpServersTransport`): how a TCP service's servers are
// dialed. Built on the control thread by compile_tcp_runtime (CA and certificate files are read
// there, never on a worker), immutable afterwards and shared by every worker.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "config/dynamic.hpp"

namespace portier::proxy {

struct TcpTransport {
  std::string name;                               // qualified, or "default@internal"
  std::chrono::milliseconds dial_timeout{30000};  // connect, PROXY header and TLS handshake; 0 = none
  std::chrono::milliseconds keep_alive{15000};    // SO_KEEPALIVE idle and interval; negative = off
  // For servers with `tls: true`: SNI and the verified name ("" = no SNI; then verification
  // needs insecureSkipVerify, as in Go: the handshake is refused otherwise).
  std::string server_name;
  bool insecure_skip_verify = false;
  std::unique_ptr<boost::asio::ssl::context> tls;  // null until some server with tls uses it
};

// Builds a transport; with `with_tls` also its client TLS context (rootCAs, the first of
// `certificates` as the client certificate). Files that cannot be used are reported in
// *problems as "tcp serversTransport NAME: ..." and left out.
std::shared_ptr<const TcpTransport> make_tcp_transport(const std::string& name, const config::TcpServersTransport& cfg,
                                                       bool with_tls, std::vector<std::string>* problems);

}  // namespace portier::proxy
