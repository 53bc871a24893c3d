#pragma once
// What a reverse proxy changes on the way through, shared by the HTTP/1.1 and HTTP/2 sides:
// hop-by-hop removal, X-Forwarded-* headers, the upstream request head (server choice is
// proxy/service_choice.hpp). Worker thread; no state of its own.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/static_config.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/middleware.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {

class Worker;
struct ListenerInfo;

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
// The ClientInfo of a connection from `client` accepted by `listener`; `ip` is the client's
// address in text and must outlive the result.
ClientInfo client_info(const tcp::endpoint& client, std::string_view ip, const ListenerInfo& listener);

// The value portier sends upstream for a forwarding header (X-Forwarded-For, -Proto, -Host,
// -Port, -Server, X-Real-Ip; any case), before middleware edits: the client's own when the
// entrypoint trusts it and it sent one (X-Forwarded-For: the client's list plus its address),
// else portier's. nullopt for any other name.
std::optional<std::string> forwarded_value(std::string_view name, const RequestHead& head,
                                           bool tls, bool trusted, std::string_view client_ip);

// The HTTP/1.1 request head sent upstream for `head` (framing from head.body), with the
// middlewares' edits (path, headers) applied when given.
std::string build_upstream_head(const RequestHead& head, const ServiceRuntime& svc,
                                const UpstreamServer& server, const ClientInfo& client,
                                const RequestEdits* edits = nullptr);
// Appends the planned header edits (set headers) to a head being built; a Host among them
// is not appended (build_upstream_head sends it as the request's Host).
void append_header_edits(std::string& out, const HeaderEdits& edits);

}  // namespace portier::proxy
