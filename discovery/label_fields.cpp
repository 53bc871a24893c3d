#include "discovery/label_fields.hpp"

#include <cctype>
#include <charconv>
#include <set>

#include "config/yaml_util.hpp"

namespace portier::discovery::labels {
namespace {

using config::Millis;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string unknown(const FieldPath& f) { return "unknown field \"" + f.joined() + "\""; }

std::string bad(const std::string& what, const std::string& value) {
  return "invalid " + what + " \"" + value + "\"";
}

std::string set_bool(bool& out, const std::string& v) {
  return parse_bool(v, out) ? std::string() : bad("boolean", v);
}

template <class Int>
std::string set_int(Int& out, const std::string& v) {
  int64_t n = 0;
  if (!parse_int(v, n)) return bad("integer", v);
  out = static_cast<Int>(n);
  return {};
}

std::string set_size(int64_t& out, const std::string& v) {
  int64_t n = 0;
  if (!parse_int(v, n) || n < 0) return bad("size", v);
  out = n;
  return {};
}

std::string set_duration(Millis& out, const std::string& v) {
  auto d = config::parse_duration(v);  // the one duration parser (config/yaml_util.hpp)
  if (!d) return bad("duration", v);
  out = *d;
  return {};
}

std::string set_port_text(std::string& out, const std::string& v) {
  int p = 0;
  if (!parse_port(v, p)) return bad("port", v);
  out = std::to_string(p);
  return {};
}

// "domains[3]" -> 3; -1 when not of that form.
int domain_index(const std::string& token) {
  if (token.rfind("domains[", 0) != 0 || token.back() != ']') return -1;
  int n = -1;
  auto digits = std::string_view(token).substr(8, token.size() - 9);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size() || n < 0 || n > 100) return -1;
  return n;
}

// tls, tls.certresolver, tls.options, tls.domains[n].main/sans, tls.passthrough (tcp).
std::string set_router_tls(std::optional<config::RouterTls>& tls, const FieldPath& f,
                           const std::string& v, bool tcp) {
  const auto& t = f.lower;
  if (t.size() == 1) {
    bool on = false;
    if (auto e = set_bool(on, v); !e.empty()) return e;
    if (on && !tls) tls.emplace();
    return {};
  }
  if (!tls) tls.emplace();
  if (t.size() == 2 && t[1] == "certresolver") return tls->cert_resolver = v, std::string();
  if (t.size() == 2 && t[1] == "options") return tls->options = v, std::string();
  if (t.size() == 2 && t[1] == "passthrough" && tcp) return set_bool(tls->passthrough, v);
  if (t.size() == 3) {
    int i = domain_index(t[1]);
    if (i >= 0) {
      if (tls->domains.size() <= static_cast<std::size_t>(i)) tls->domains.resize(i + 1);
      if (t[2] == "main") return tls->domains[i].main = v, std::string();
      if (t[2] == "sans") return tls->domains[i].sans = split_list(v), std::string();
    }
  }
  return unknown(f);
}

FieldPath tail(const FieldPath& f, std::size_t from) {
  FieldPath out;
  out.lower.assign(f.lower.begin() + from, f.lower.end());
  out.raw.assign(f.raw.begin() + from, f.raw.end());
  return out;
}

std::string set_headers(config::HeadersMw& h, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t.size() == 2 && t[0] == "customrequestheaders") return h.custom_request_headers[f.raw[1]] = v, "";
  if (t.size() == 2 && t[0] == "customresponseheaders") return h.custom_response_headers[f.raw[1]] = v, "";
  if (t.size() != 1) return unknown(f);
  const auto& k = t[0];
  if (k == "stsseconds") return set_size(h.sts_seconds, v);
  if (k == "stsincludesubdomains") return set_bool(h.sts_include_subdomains, v);
  if (k == "stspreload") return set_bool(h.sts_preload, v);
  if (k == "forcestsheader") return set_bool(h.force_sts_header, v);
  if (k == "framedeny") return set_bool(h.frame_deny, v);
  if (k == "customframeoptionsvalue") return h.custom_frame_options_value = v, "";
  if (k == "contenttypenosniff") return set_bool(h.content_type_nosniff, v);
  if (k == "browserxssfilter") return set_bool(h.browser_xss_filter, v);
  if (k == "custombrowserxssvalue") return h.custom_browser_xss_value = v, "";
  if (k == "referrerpolicy") return h.referrer_policy = v, "";
  if (k == "contentsecuritypolicy") return h.content_security_policy = v, "";
  if (k == "permissionspolicy") return h.permissions_policy = v, "";
  return unknown(f);
}

std::string set_buffering(config::BufferingMw& b, const FieldPath& f, const std::string& v) {
  if (f.lower.size() != 1) return unknown(f);
  const auto& k = f.lower[0];
  if (k == "maxrequestbodybytes") return set_size(b.max_request_body_bytes, v);
  if (k == "memrequestbodybytes") return set_size(b.mem_request_body_bytes, v);
  if (k == "maxresponsebodybytes") return set_size(b.max_response_body_bytes, v);
  if (k == "memresponsebodybytes") return set_size(b.mem_response_body_bytes, v);
  if (k == "retryexpression") return "buffering.retryExpression is not supported yet";
  return unknown(f);
}

std::string set_simple_mw(config::MiddlewareSpec& spec, const std::string& type, const FieldPath& f,
                          const std::string& v) {
  if (f.lower.size() != 1) return unknown(f);
  const auto& k = f.lower[0];
  if (type == "redirectscheme") {
    auto& m = std::get<config::RedirectSchemeMw>(spec);
    if (k == "scheme") return m.scheme = v, "";
    if (k == "port") return m.port = v, "";
    if (k == "permanent") return set_bool(m.permanent, v);
  } else if (type == "redirectregex") {
    auto& m = std::get<config::RedirectRegexMw>(spec);
    if (k == "regex") return m.regex = v, "";
    if (k == "replacement") return m.replacement = v, "";
    if (k == "permanent") return set_bool(m.permanent, v);
  } else if (type == "chain") {
    if (k == "middlewares") return std::get<config::ChainMw>(spec).middlewares = split_list(v), "";
  } else if (type == "stripprefix") {
    if (k == "prefixes") return std::get<config::StripPrefixMw>(spec).prefixes = split_list(v), "";
    if (k == "forceslash") return "stripPrefix.forceSlash is not supported yet";
  } else if (type == "addprefix") {
    if (k == "prefix") return std::get<config::AddPrefixMw>(spec).prefix = v, "";
  }
  return unknown(f);
}

// ipstrategy.{depth,excludedips,ipv6subnet}; `f` starts after "ipstrategy".
std::string set_ip_strategy(std::optional<config::IpStrategy>& s, const FieldPath& f,
                            const std::string& v) {
  if (!s) s.emplace();
  if (f.lower.empty()) return v.empty() || v == "true" ? "" : bad("ipStrategy", v);  // allowEmpty
  if (f.lower.size() != 1) return unknown(f);
  const auto& k = f.lower[0];
  if (k == "depth") return set_int(s->depth, v);
  if (k == "excludedips") return s->excluded_ips = split_list(v), "";
  if (k == "ipv6subnet") return set_int(s->ipv6_subnet.emplace(), v);
  return unknown(f);
}

std::string set_source_criterion(std::optional<config::SourceCriterion>& c, const FieldPath& f,
                                 const std::string& v) {
  if (!c) c.emplace();
  if (!f.lower.empty() && f.lower[0] == "ipstrategy") return set_ip_strategy(c->ip_strategy, tail(f, 1), v);
  if (f.lower.size() != 1) return unknown(f);
  if (f.lower[0] == "requestheadername") return c->request_header_name = v, "";
  if (f.lower[0] == "requesthost") return set_bool(c->request_host, v);
  return unknown(f);
}

// basicAuth, ipAllowList / ipWhiteList, rateLimit, inFlightReq.
std::string set_access_mw(config::MiddlewareSpec& spec, const FieldPath& f, const std::string& v) {
  const auto& k = f.lower[0];
  if (auto* b = std::get_if<config::BasicAuthMw>(&spec); b && f.lower.size() == 1) {
    if (k == "users") return b->users = split_list(v), "";
    if (k == "usersfile") return b->users_file = v, "";
    if (k == "realm") return b->realm = v, "";
    if (k == "removeheader") return set_bool(b->remove_header, v);
    if (k == "headerfield") return b->header_field = v, "";
  } else if (auto* a = std::get_if<config::IpAllowListMw>(&spec)) {
    if (k == "ipstrategy") return set_ip_strategy(a->ip_strategy, tail(f, 1), v);
    if (f.lower.size() != 1) return unknown(f);
    if (k == "sourcerange") return a->source_range = split_list(v), "";
    if (k == "rejectstatuscode" && !a->white_list) return set_int(a->reject_status_code, v);
  } else if (auto* r = std::get_if<config::RateLimitMw>(&spec)) {
    if (k == "sourcecriterion") return set_source_criterion(r->source_criterion, tail(f, 1), v);
    if (k == "redis") return "rateLimit.redis is not supported yet";
    if (f.lower.size() != 1) return unknown(f);
    if (k == "average") return set_int(r->average, v);
    if (k == "period") return set_duration(r->period, v);
    if (k == "burst") return set_int(r->burst, v);
  } else if (auto* i = std::get_if<config::InFlightReqMw>(&spec)) {
    if (k == "sourcecriterion") return set_source_criterion(i->source_criterion, tail(f, 1), v);
    if (f.lower.size() == 1 && k == "amount") return set_int(i->amount, v);
  }
  return unknown(f);
}

bool make_spec(const std::string& type, config::MiddlewareSpec& spec) {
  if (type == "headers") spec = config::HeadersMw{};
  else if (type == "buffering") spec = config::BufferingMw{};
  else if (type == "redirectscheme") spec = config::RedirectSchemeMw{};
  else if (type == "redirectregex") spec = config::RedirectRegexMw{};
  else if (type == "chain") spec = config::ChainMw{};
  else if (type == "stripprefix") spec = config::StripPrefixMw{};
  else if (type == "addprefix") spec = config::AddPrefixMw{};
  else if (type == "basicauth") spec = config::BasicAuthMw{};
  else if (type == "ipallowlist") spec = config::IpAllowListMw{};
  else if (type == "ipwhitelist") spec = config::IpAllowListMw{.white_list = true};
  else if (type == "ratelimit") spec = config::RateLimitMw{};
  else if (type == "inflightreq") spec = config::InFlightReqMw{};
  else return false;
  return true;
}

bool is_traefik_middleware(const std::string& type) {
  static const std::set<std::string> known = {
      "basicauth",     "digestauth",   "forwardauth", "ipallowlist",   "ipwhitelist", "ratelimit",
      "inflightreq",   "compress",     "retry",       "circuitbreaker", "errors",     "contenttype",
      "grpcweb",       "passtlsclientcert", "replacepath", "replacepathregex", "stripprefixregex",
      "plugin"};
  return known.count(type) > 0;
}

}  // namespace

std::string FieldPath::joined() const {
  std::string s;
  for (const auto& t : lower) s += (s.empty() ? "" : ".") + t;
  return s;
}

bool parse_bool(const std::string& text, bool& out) {
  static const std::set<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> no = {"0", "f", "F", "FALSE", "false", "False"};
  std::string t = trim(text);
  if (yes.count(t)) return out = true, true;
  if (no.count(t)) return out = false, true;
  return false;
}

bool parse_int(const std::string& text, int64_t& out) {
  std::string t = trim(text);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return !t.empty() && ec == std::errc() && p == t.data() + t.size();
}

bool parse_port(const std::string& text, int& out) {
  int64_t n = 0;
  if (!parse_int(text, n) || n < 1 || n > 65535) return false;
  out = static_cast<int>(n);
  return true;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(std::string_view(text).substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::string set_http_router(config::HttpRouter& r, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t[0] == "tls") return set_router_tls(r.tls, f, v, false);
  if (t.size() != 1) return unknown(f);
  if (t[0] == "rule") return r.rule = v, "";
  if (t[0] == "entrypoints") return r.entry_points = split_list(v), "";
  if (t[0] == "middlewares") return r.middlewares = split_list(v), "";
  if (t[0] == "service") return r.service = v, "";
  if (t[0] == "priority") return set_int(r.priority, v);
  if (t[0] == "rulesyntax") return v == "v3" ? "" : "ruleSyntax \"" + v + "\" is not supported (only v3)";
  return unknown(f);
}

std::string set_http_service(RawHttpService& s, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t[0] != "loadbalancer") return t[0] == "weighted" || t[0] == "mirroring" || t[0] == "failover"
                                         ? "service type \"" + t[0] + "\" is not supported in labels"
                                         : unknown(f);
  if (t.size() < 2) return unknown(f);
  auto& lb = s.lb;
  if (t[1] == "server" && t.size() == 3) {
    if (t[2] == "port") return set_port_text(s.port, v);
    if (t[2] == "scheme") return s.scheme = v, "";
    if (t[2] == "url") return s.url = v, "";
    if (t[2] == "weight") return set_int(s.weight, v);
    return unknown(f);
  }
  if (t[1] == "passhostheader" && t.size() == 2) return set_bool(lb.pass_host_header, v);
  if (t[1] == "serverstransport" && t.size() == 2) return lb.servers_transport = v, "";
  if (t[1] == "responseforwarding" && t.size() == 3 && t[2] == "flushinterval")
    return set_duration(lb.flush_interval, v);
  if (t[1] == "sticky" && t.size() >= 3 && t[2] == "cookie") {
    if (!lb.sticky_cookie) lb.sticky_cookie.emplace();
    auto& c = *lb.sticky_cookie;
    if (t.size() == 3) {
      bool on = false;
      if (auto e = set_bool(on, v); !e.empty()) return e;
      if (!on) lb.sticky_cookie.reset();
      return {};
    }
    if (t.size() != 4) return unknown(f);
    if (t[3] == "name") return c.name = v, "";
    if (t[3] == "secure") return set_bool(c.secure, v);
    if (t[3] == "httponly") return set_bool(c.http_only, v);
    if (t[3] == "samesite") return c.same_site = v, "";
    if (t[3] == "maxage") return set_int(c.max_age, v);
    return unknown(f);
  }
  if (t[1] == "healthcheck" && t.size() >= 3) {
    if (!lb.health_check) lb.health_check.emplace();
    auto& h = *lb.health_check;
    if (t.size() == 4 && t[2] == "headers") return h.headers[f.raw[3]] = v, "";
    if (t.size() != 3) return unknown(f);
    const auto& k = t[2];
    if (k == "path") return h.path = v, "";
    if (k == "scheme") return "healthCheck.scheme is not supported yet";
    if (k == "method") return h.method = v, "";
    if (k == "hostname") return h.hostname = v, "";
    if (k == "port") return set_int(h.port, v);
    if (k == "status") return set_int(h.status, v);
    if (k == "interval") return set_duration(h.interval, v);
    if (k == "timeout") return set_duration(h.timeout, v);
    return unknown(f);
  }
  return unknown(f);
}

std::string set_middleware(RawMiddleware& m, const FieldPath& f, const std::string& v) {
  const std::string& type = f.lower[0];
  if (!m.type.empty() && m.type != type)
    return "middleware has two types (\"" + m.type + "\" and \"" + type + "\")";
  if (m.type.empty()) {
    if (!make_spec(type, m.spec))
      return is_traefik_middleware(type) ? "middleware type \"" + type + "\" is not supported"
                                         : "unknown middleware type \"" + type + "\"";
    m.type = type;
  }
  FieldPath rest = tail(f, 1);
  if (rest.lower.empty()) return "middleware \"" + type + "\" needs a field";
  if (type == "headers") return set_headers(std::get<config::HeadersMw>(m.spec), rest, v);
  if (type == "buffering") return set_buffering(std::get<config::BufferingMw>(m.spec), rest, v);
  if (type == "basicauth" || type == "ipallowlist" || type == "ipwhitelist" || type == "ratelimit" ||
      type == "inflightreq")
    return set_access_mw(m.spec, rest, v);
  return set_simple_mw(m.spec, type, rest, v);
}

std::string set_tcp_router(config::TcpRouter& r, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t[0] == "tls") return set_router_tls(r.tls, f, v, true);
  if (t.size() != 1) return unknown(f);
  if (t[0] == "rule") return r.rule = v, "";
  if (t[0] == "entrypoints") return r.entry_points = split_list(v), "";
  if (t[0] == "service") return r.service = v, "";
  if (t[0] == "priority") return set_int(r.priority, v);
  if (t[0] == "middlewares") return "tcp middlewares are not supported";
  if (t[0] == "rulesyntax") return v == "v3" ? "" : "ruleSyntax \"" + v + "\" is not supported (only v3)";
  return unknown(f);
}

std::string set_tcp_service(RawTcpService& s, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t[0] != "loadbalancer" || t.size() < 2) return unknown(f);
  if (t[1] == "server" && t.size() == 3) {
    if (t[2] == "port") return set_port_text(s.port, v);
    if (t[2] == "address") return s.address = v, "";
    if (t[2] == "tls") {
      bool on = false;
      if (auto e = set_bool(on, v); !e.empty()) return e;
      return on ? "server.tls (TLS to the backend) is not supported yet" : "";
    }
    if (t[2] == "weight") return set_int(s.weight, v);
    return unknown(f);
  }
  if (t[1] == "proxyprotocol") return "TCP loadBalancer.proxyProtocol is not supported yet";
  if (t[1] == "terminationdelay") return "TCP loadBalancer.terminationDelay is not supported yet";
  return unknown(f);
}

std::string set_udp_router(config::UdpRouter& r, const FieldPath& f, const std::string& v) {
  if (f.lower.size() != 1) return unknown(f);
  if (f.lower[0] == "entrypoints") return r.entry_points = split_list(v), "";
  if (f.lower[0] == "service") return r.service = v, "";
  return unknown(f);
}

std::string set_udp_service(RawUdpService& s, const FieldPath& f, const std::string& v) {
  const auto& t = f.lower;
  if (t[0] != "loadbalancer" || t.size() != 3 || t[1] != "server") return unknown(f);
  if (t[2] == "port") return set_port_text(s.port, v);
  if (t[2] == "address") return s.address = v, "";
  if (t[2] == "weight") return set_int(s.weight, v);
  return unknown(f);
}

}  // namespace portier::discovery::labels
