#include "proxy/forwarding.hpp"

#include "proxy/worker.hpp"
#include "tls/server_context.hpp"

#include <openssl/ssl.h>
#include <unistd.h>

#include <array>

#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>


namespace portier::proxy {
namespace {

const std::string& local_hostname() {
  static const std::string name = [] {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    return std::string(buf);
  }();
  return name;
}

// In the order they are sent upstream.
constexpr std::string_view kForwardingHeaders[] = {"X-Forwarded-For",  "X-Forwarded-Proto",
                                                   "X-Forwarded-Host", "X-Forwarded-Port",
                                                   "X-Forwarded-Server", "X-Real-Ip"};

enum Forwarding : size_t { kFor, kProto, kHost, kPort, kServer, kRealIp, kNone };

Forwarding forwarding_header(std::string_view name) {
  for (size_t i = 0; i < std::size(kForwardingHeaders); ++i)
    if (iequals(name, kForwardingHeaders[i])) return static_cast<Forwarding>(i);
  return kNone;
}

bool is_forwarding_header(std::string_view name) { return forwarding_header(name) != kNone; }

// Appends the value of forwarding header `which` (no allocation, no name comparison: this runs
// six times per request).
void append_forwarded_value(std::string& out, Forwarding which, const RequestHead& head, bool tls,
                            bool trusted, std::string_view client_ip) {
  std::string_view sent = trusted ? find_header(head.headers, kForwardingHeaders[which]) : std::string_view();
  if (which == kFor) {
    if (!sent.empty()) out.append(sent).append(", ");
    out.append(client_ip);
  } else if (which == kServer) {
    out.append(local_hostname());
  } else if (!sent.empty()) {
    out.append(sent);
  } else if (which == kProto) {
    out.append(head.upgrade ? (tls ? "wss" : "ws") : (tls ? "https" : "http"));
  } else if (which == kHost) {
    out.append(head.host);
  } else if (which == kRealIp) {
    out.append(client_ip);
  } else {  // kPort
    std::string_view host = head.host;
    size_t colon = host.rfind(':');
    bool has_port = colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos;
    out.append(has_port ? host.substr(colon + 1) : std::string_view(tls ? "443" : "80"));
  }
}

}  // namespace

bool is_trusted_client(const config::EntryPoint& ep, const boost::asio::ip::address& client_addr_) {
  if (ep.forwarded_insecure) return true;
  for (const auto& cidr : ep.trusted_ips) {
    error_code ec;
    if (cidr.find('/') == std::string::npos) {
      if (boost::asio::ip::make_address(cidr, ec) == client_addr_ && !ec) return true;
      continue;
    }
    if (client_addr_.is_v4()) {
      auto net = boost::asio::ip::make_network_v4(cidr, ec);
      if (!ec && net.canonical() == boost::asio::ip::network_v4(client_addr_.to_v4(), net.prefix_length()).canonical())
        return true;
    } else {
      auto net = boost::asio::ip::make_network_v6(cidr, ec);
      if (!ec && net.canonical() == boost::asio::ip::network_v6(client_addr_.to_v6(), net.prefix_length()).canonical())
        return true;
    }
  }
  return false;
}

ClientInfo client_info(const tcp::endpoint& client, std::string_view ip, const ListenerInfo& listener) {
  return ClientInfo{ip, client.address(), listener.tls, is_trusted_client(listener.entry_point, client.address()),
                    client.port()};
}

void set_handshake(ClientInfo& client, const SSL* ssl) {
  client.ssl = ssl;
  client.tls_policy = tls::policy_of(ssl).get();  // the SSL's handshake state keeps it
  client.tls_version = tls_version_text(SSL_version(ssl));
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  client.tls_cipher = cipher ? std::string_view(SSL_CIPHER_standard_name(cipher)) : std::string_view();
}

std::string_view tls_version_text(int version) {
  switch (version) {
    case TLS1_3_VERSION: return "1.3";
    case TLS1_2_VERSION: return "1.2";
    case TLS1_1_VERSION: return "1.1";
    case TLS1_VERSION: return "1.0";
    default: return "unknown";
  }
}

void append_header_edits(std::string& out, const HeaderEdits& edits) {
  for (const auto& [name, value] : edits.set)
    if (!iequals(name, "host")) append_header(out, name, value);
}

std::optional<std::string> forwarded_value(std::string_view name, const RequestHead& head,
                                           bool tls, bool trusted, std::string_view client_ip) {
  Forwarding which = forwarding_header(name);
  if (which == kNone) return std::nullopt;
  std::string value;
  append_forwarded_value(value, which, head, tls, trusted, client_ip);
  return value;
}

std::string build_upstream_head(const RequestHead& head, const ServiceRuntime& svc,
                                const UpstreamServer& server, const ClientInfo& client,
                                const RequestEdits* edits) {
  std::string out;
  out.reserve(head.head_size + 256);
  out.append(head.method).append(" ").append(server.path_prefix);
  if (edits && edits->path) {
    out.append(*edits->path);
    if (!head.query.empty()) out.append("?").append(head.query);
  } else if (head.target.front() == '/') {
    out.append(head.target);
  } else {
    out.append(head.path);
    if (!head.query.empty()) out.append("?").append(head.query);
  }
  out.append(" HTTP/1.1\r\n");
  std::string_view host = head.host;  // a middleware's Host is the request's host, as in Traefik
  if (edits)
    for (const auto& [name, value] : edits->headers.set)
      if (iequals(name, "host")) host = value;
  append_header(out, "Host", svc.pass_host_header && !host.empty() ? host : std::string_view(server.authority));
  for (const auto& h : head.headers) {
    if (is_hop_by_hop(h.name, head.connection) || iequals(h.name, "host") ||
        iequals(h.name, "content-length") || iequals(h.name, "expect") ||
        is_forwarding_header(h.name) || (edits && edits->headers.touches(h.name)))
      continue;
    append_header(out, h.name, h.value);
  }
  for (size_t i = 0; i < std::size(kForwardingHeaders); ++i) {
    if (edits && edits->headers.touches(kForwardingHeaders[i])) continue;
    out.append(kForwardingHeaders[i]).append(": ");
    append_forwarded_value(out, static_cast<Forwarding>(i), head, client.tls, client.trusted, client.ip);
    out.append("\r\n");
  }
  if (edits) append_header_edits(out, edits->headers);
  // As Go's ReverseProxy: the hop-by-hop "TE: trailers" is kept when the client sent it (a
  // gRPC server refuses a call without it).
  if (!(edits && edits->headers.touches("TE")) && header_has_token(find_header(head.headers, "te"), "trailers"))
    append_header(out, "TE", "trailers");
  if (head.body == BodyKind::length) append_header(out, "Content-Length", std::to_string(head.content_length));
  if (head.body == BodyKind::chunked) append_header(out, "Transfer-Encoding", "chunked");
  if (head.upgrade) {
    append_header(out, "Connection", "Upgrade");
    append_header(out, "Upgrade", find_header(head.headers, "upgrade"));
  }
  out.append("\r\n");
  return out;
}

}  // namespace portier::proxy
