#include "proxy/forwarding.hpp"

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

bool is_forwarding_header(std::string_view name) {
  return iequals(name, "x-forwarded-for") || iequals(name, "x-forwarded-proto") ||
         iequals(name, "x-forwarded-host") || iequals(name, "x-forwarded-port") ||
         iequals(name, "x-forwarded-server") || iequals(name, "x-real-ip");
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

void append_header_edits(std::string& out, const HeaderEdits& edits) {
  for (const auto& [name, value] : edits.set) append_header(out, name, value);
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
  append_header(out, "Host", svc.pass_host_header && !head.host.empty() ? head.host : std::string_view(server.authority));
  bool trusted = client.trusted;
  std::string_view prior_xff;
  for (const auto& h : head.headers) {
    if (is_hop_by_hop(h.name, head.connection) || iequals(h.name, "host") ||
        iequals(h.name, "content-length") || iequals(h.name, "expect") ||
        (edits && edits->headers.touches(h.name)))
      continue;
    if (is_forwarding_header(h.name)) {
      if (!trusted) continue;
      if (iequals(h.name, "x-forwarded-for")) {
        prior_xff = h.value;
        continue;
      }
    }
    append_header(out, h.name, h.value);
  }
  std::string xff = prior_xff.empty() ? std::string(client.ip) : std::string(prior_xff) + ", " + std::string(client.ip);
  append_header(out, "X-Forwarded-For", xff);
  bool tls = client.tls;
  if (!trusted || find_header(head.headers, "x-forwarded-proto").empty())
    append_header(out, "X-Forwarded-Proto", head.upgrade ? (tls ? "wss" : "ws") : (tls ? "https" : "http"));
  if (!trusted || find_header(head.headers, "x-forwarded-host").empty())
    append_header(out, "X-Forwarded-Host", head.host);
  if (!trusted || find_header(head.headers, "x-forwarded-port").empty()) {
    std::string_view host = head.host;
    size_t colon = host.rfind(':');
    bool has_port = colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos;
    append_header(out, "X-Forwarded-Port", has_port ? std::string(host.substr(colon + 1)) : (tls ? "443" : "80"));
  }
  append_header(out, "X-Forwarded-Server", local_hostname());
  if (!trusted || find_header(head.headers, "x-real-ip").empty()) append_header(out, "X-Real-Ip", client.ip);
  if (edits) append_header_edits(out, edits->headers);
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
