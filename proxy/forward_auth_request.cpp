#include "proxy/forward_auth_request.hpp"

#include <algorithm>
#include <array>

#include "proxy/header_fields.hpp"

namespace portier::proxy {
namespace {

// The X-Forwarded-* fields the auth request always carries, set from the request unless
// trusted.
constexpr std::array<std::string_view, 6> kComputed = {
    "X-Forwarded-For", "X-Forwarded-Method", "X-Forwarded-Proto",
    "X-Forwarded-Port", "X-Forwarded-Host",  "X-Forwarded-Uri"};

bool is_computed(std::string_view name) {
  return std::any_of(kComputed.begin(), kComputed.end(), [&](auto c) { return iequals(c, name); });
}

bool is_x_forwarded(std::string_view name) {
  return (name.size() > 12 && iequals(name.substr(0, 12), "x-forwarded-")) || iequals(name, "x-real-ip");
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(), [&](const auto& n) { return iequals(n, name); });
}

// Every value of `name` in the request, joined as one field ("" when absent).
std::string joined(const RequestHead& head, std::string_view name, std::string_view sep) {
  std::string out;
  for (const auto& h : head.headers) {
    if (!iequals(h.name, name)) continue;
    if (!out.empty()) out += sep;
    out += h.value;
  }
  return out;
}

std::string forwarded_port(const RequestContext& ctx) {
  std::string_view host = ctx.head.host;
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
    return std::string(host.substr(colon + 1));
  return ctx.tls ? "443" : "80";
}

// The computed value of one of kComputed.
std::string computed(const RequestContext& ctx, std::string_view name) {
  if (iequals(name, "X-Forwarded-For")) return std::string(ctx.client_ip);
  if (iequals(name, "X-Forwarded-Method")) return std::string(ctx.head.method);
  if (iequals(name, "X-Forwarded-Proto")) return ctx.tls ? "https" : "http";
  if (iequals(name, "X-Forwarded-Port")) return forwarded_port(ctx);
  if (iequals(name, "X-Forwarded-Host")) return std::string(ctx.head.host);
  std::string uri(ctx.path);
  if (!ctx.head.query.empty()) uri.append("?").append(ctx.head.query);
  return uri;
}

}  // namespace

std::string parse_forward_auth_address(std::string_view url, ForwardAuthAddress& out) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return "address must be an http:// or https:// URL";
  out.scheme = std::string(url.substr(0, sep));
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") return "address must be an http:// or https:// URL";
  std::string_view rest = url.substr(sep + 3);
  size_t end = std::min(rest.find_first_of("/?#"), rest.size());
  out.authority = std::string(rest.substr(0, end));
  if (out.authority.empty() || out.authority.find('@') != std::string::npos)
    return "address has no usable host";
  out.origin = out.scheme + "://" + out.authority;
  std::string_view target = rest.substr(end);
  target = target.substr(0, target.find('#'));
  out.target = (target.empty() || target.front() != '/' ? "/" : "") + std::string(target);
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "address has a space or control character";
  return "";
}

std::string build_auth_request_head(const RequestContext& ctx, const config::ForwardAuthMw& spec,
                                    const ForwardAuthAddress& address) {
  const RequestHead& head = ctx.head;
  bool trust = spec.trust_forward_header && ctx.trusted;
  std::string out;
  out.reserve(head.head_size + 512);
  out.append(spec.preserve_request_method ? head.method : std::string_view("GET"))
      .append(" ").append(address.target).append(" HTTP/1.1\r\n");
  append_header(out, "Host", address.authority);
  const auto& allowed = spec.auth_request_headers;
  bool cookie_done = false;
  for (const auto& h : head.headers) {
    if (is_hop_by_hop(h.name, head.connection) || iequals(h.name, "host") ||
        iequals(h.name, "content-length") || iequals(h.name, "expect") || iequals(h.name, "te"))
      continue;
    if (is_x_forwarded(h.name) && (!ctx.trusted || is_computed(h.name))) continue;
    bool pass = allowed.empty() || listed(allowed, h.name) ||
                (spec.trust_forward_header && is_x_forwarded(h.name));
    if (!pass) continue;
    if (iequals(h.name, "cookie")) {
      if (!cookie_done) append_header(out, "Cookie", joined(head, "cookie", "; "));
      cookie_done = true;
      continue;
    }
    append_header(out, h.name, h.value);
  }
  if (ctx.body) {  // forwardBody: framed as the client framed it
    if (head.body == BodyKind::chunked)
      append_header(out, "Transfer-Encoding", "chunked");
    else
      append_header(out, "Content-Length", std::to_string(ctx.body->size()));
  }
  for (auto name : kComputed) {
    std::string prior = trust ? joined(head, name, ", ") : std::string();
    if (iequals(name, "X-Forwarded-For"))
      append_header(out, name, prior.empty() ? computed(ctx, name) : prior + ", " + computed(ctx, name));
    else
      append_header(out, name, prior.empty() ? computed(ctx, name) : prior);
  }
  out.append("\r\n");
  return out;
}

std::string resolve_location(const ForwardAuthAddress& address, std::string_view location) {
  size_t colon = location.find(':');
  size_t stop = location.find_first_of("/?#");
  bool has_scheme = colon != std::string_view::npos && colon > 0 && colon < stop &&
                    std::isalpha(static_cast<unsigned char>(location[0]));
  if (has_scheme) return std::string(location);
  if (location.starts_with("//")) return address.scheme + ":" + std::string(location);
  if (location.starts_with("/")) return address.origin + std::string(location);
  std::string_view path = address.target;
  path = path.substr(0, path.find('?'));
  if (location.empty() || location.front() == '?' || location.front() == '#')
    return address.origin + std::string(path) + std::string(location);
  return address.origin + std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
}

}  // namespace portier::proxy
