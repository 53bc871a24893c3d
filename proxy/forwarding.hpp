#pragma once
// What a reverse proxy changes on the way through, shared by the HTTP/1.1 and HTTP/2 sides:
// hop-by-hop removal, X-Forwarded-* headers, the upstream request head (server choice is
// proxy/service_choice.hpp). Worker thread; no state of its own.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "config/static_config.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/middleware.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {

// Who sent the request and over what: decides the X-Forwarded-* values.
struct ClientInfo {
  std::string_view ip;
  boost::asio::ip::address address;
  bool tls = false;
  bool trusted = false;  // forwardedHeaders.trustedIPs / insecure: keep its X-Forwarded-*
  uint16_t port = 0;     // the client's TCP port (access log)
};

// Whether the entrypoint trusts this client's forwarding headers.
bool is_trusted_client(const config::EntryPoint& ep, const boost::asio::ip::address& client);

// The HTTP/1.1 request head sent upstream for `head` (framing from head.body), with the
// middlewares' edits (path, headers) applied when given.
std::string build_upstream_head(const RequestHead& head, const ServiceRuntime& svc,
                                const UpstreamServer& server, const ClientInfo& client,
                                const RequestEdits* edits = nullptr);
// Appends the planned header edits (set headers) to a head being built.
void append_header_edits(std::string& out, const HeaderEdits& edits);

}  // namespace portier::proxy
