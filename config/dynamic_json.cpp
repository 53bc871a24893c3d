#include "config/dynamic_json.hpp"

#include <yaml-cpp/yaml.h>

namespace portier::config {

using nlohmann::json;

namespace {

std::string duration(Millis ms) {
  const auto n = ms.count();
  if (n != 0 && n % 1000 == 0) return std::to_string(n / 1000) + "s";
  return n == 0 ? "0s" : std::to_string(n) + "ms";
}

template <class T>
void put(json& j, const char* key, const T& value, const T& fallback) {
  if (value != fallback) j[key] = value;
}

void put(json& j, const char* key, Millis value, Millis fallback) {
  if (value != fallback) j[key] = duration(value);
}

void put_list(json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}

// Maps a reference to its exported name when it names an item of `defined`.
template <class Map>
std::string ref(const std::string& name, const Map& defined, bool map_names) {
  if (!map_names || !defined.count(name)) return name;
  return export_name(name);
}

json router_tls_json(const RouterTls& t, const std::string& options, bool tcp) {
  json j = json::object();
  put(j, "certResolver", t.cert_resolver, std::string());
  put(j, "options", options, std::string());
  if (tcp) put(j, "passthrough", t.passthrough, false);
  if (!t.domains.empty()) {
    json domains = json::array();
    for (const auto& d : t.domains) {
      json dj{{"main", d.main}};
      put_list(dj, "sans", d.sans);
      domains.push_back(dj);
    }
    j["domains"] = domains;
  }
  return j;
}

json health_check_json(const HealthCheck& h) {
  const HealthCheck def;
  json j = json::object();
  put(j, "path", h.path, def.path);
  put(j, "method", h.method, def.method);
  put(j, "hostname", h.hostname, def.hostname);
  put(j, "port", h.port, def.port);
  put(j, "status", h.status, def.status);
  put(j, "interval", h.interval, def.interval);
  put(j, "timeout", h.timeout, def.timeout);
  if (!h.headers.empty()) j["headers"] = h.headers;
  return j;
}

json load_balancer_json(const LoadBalancer& lb, const std::string& transport) {
  const LoadBalancer def;
  json j = json::object();
  json servers = json::array();
  for (const auto& s : lb.servers) {
    json sj{{"url", s.url}};
    put(sj, "weight", s.weight, 1);
    servers.push_back(sj);
  }
  j["servers"] = servers;
  put(j, "passHostHeader", lb.pass_host_header, def.pass_host_header);
  if (lb.health_check) j["healthCheck"] = health_check_json(*lb.health_check);
  if (lb.sticky_cookie) {
    const StickyCookie& c = *lb.sticky_cookie;
    json cj = json::object();
    put(cj, "name", c.name, std::string());
    put(cj, "secure", c.secure, false);
    put(cj, "httpOnly", c.http_only, false);
    put(cj, "sameSite", c.same_site, std::string());
    put(cj, "maxAge", c.max_age, 0);
    j["sticky"] = {{"cookie", cj}};
  }
  put(j, "serversTransport", transport, std::string());
  if (lb.flush_interval != def.flush_interval)
    j["responseForwarding"] = {{"flushInterval", duration(lb.flush_interval)}};
  return j;
}

json headers_json(const HeadersMw& h) {
  const HeadersMw d;
  json j = json::object();
  if (!h.custom_request_headers.empty()) j["customRequestHeaders"] = h.custom_request_headers;
  if (!h.custom_response_headers.empty()) j["customResponseHeaders"] = h.custom_response_headers;
  put(j, "stsSeconds", h.sts_seconds, d.sts_seconds);
  put(j, "stsIncludeSubdomains", h.sts_include_subdomains, d.sts_include_subdomains);
  put(j, "stsPreload", h.sts_preload, d.sts_preload);
  put(j, "forceSTSHeader", h.force_sts_header, d.force_sts_header);
  put(j, "frameDeny", h.frame_deny, d.frame_deny);
  put(j, "customFrameOptionsValue", h.custom_frame_options_value, d.custom_frame_options_value);
  put(j, "contentTypeNosniff", h.content_type_nosniff, d.content_type_nosniff);
  put(j, "browserXssFilter", h.browser_xss_filter, d.browser_xss_filter);
  put(j, "customBrowserXSSValue", h.custom_browser_xss_value, d.custom_browser_xss_value);
  put(j, "referrerPolicy", h.referrer_policy, d.referrer_policy);
  put(j, "contentSecurityPolicy", h.content_security_policy, d.content_security_policy);
  put(j, "permissionsPolicy", h.permissions_policy, d.permissions_policy);
  return j;
}

json ip_strategy_json(const IpStrategy& s) {
  json j = json::object();
  put(j, "depth", s.depth, 0);
  put_list(j, "excludedIPs", s.excluded_ips);
  if (s.ipv6_subnet) j["ipv6Subnet"] = *s.ipv6_subnet;
  return j;
}

json source_criterion_json(const std::optional<SourceCriterion>& c) {
  json j = json::object();
  if (!c) return j;
  if (c->ip_strategy) j["ipStrategy"] = ip_strategy_json(*c->ip_strategy);
  put(j, "requestHeaderName", c->request_header_name, std::string());
  put(j, "requestHost", c->request_host, false);
  return j;
}

// Access-control middlewares. `redact`: password hashes are replaced (routes.json; Traefik
// marks users loggable:false), kept in the Traefik export that another Traefik reads.
void access_json(json& body, const MiddlewareSpec& spec, bool redact) {
  if (auto* b = std::get_if<BasicAuthMw>(&spec)) {
    json users = json::array();
    for (const auto& u : b->users) users.push_back(redact ? u.substr(0, u.find(':')) + ":<redacted>" : u);
    if (!users.empty()) body["users"] = users;
    put(body, "usersFile", b->users_file, std::string());
    put(body, "realm", b->realm, std::string());
    put(body, "removeHeader", b->remove_header, false);
    put(body, "headerField", b->header_field, std::string());
  } else if (auto* a = std::get_if<IpAllowListMw>(&spec)) {
    body["sourceRange"] = a->source_range;
    if (a->ip_strategy) body["ipStrategy"] = ip_strategy_json(*a->ip_strategy);
    put(body, "rejectStatusCode", a->reject_status_code, 0);
  } else if (auto* r = std::get_if<RateLimitMw>(&spec)) {
    const RateLimitMw d;
    body["average"] = r->average;
    put(body, "period", r->period, d.period);
    body["burst"] = r->burst;
    if (r->source_criterion) body["sourceCriterion"] = source_criterion_json(r->source_criterion);
  } else if (auto* f = std::get_if<InFlightReqMw>(&spec)) {
    body["amount"] = f->amount;
    if (f->source_criterion) body["sourceCriterion"] = source_criterion_json(f->source_criterion);
  }
}

// {"<type>": {...}} as Traefik writes a middleware; chain references mapped by `chain_ref`.
template <class ChainRef>
json middleware_json(const Middleware& m, ChainRef chain_ref, bool redact) {
  json body = json::object();
  if (auto* h = std::get_if<HeadersMw>(&m.spec)) {
    body = headers_json(*h);
  } else if (auto* b = std::get_if<BufferingMw>(&m.spec)) {
    const BufferingMw d;
    put(body, "maxRequestBodyBytes", b->max_request_body_bytes, d.max_request_body_bytes);
    put(body, "memRequestBodyBytes", b->mem_request_body_bytes, d.mem_request_body_bytes);
    put(body, "maxResponseBodyBytes", b->max_response_body_bytes, d.max_response_body_bytes);
    put(body, "memResponseBodyBytes", b->mem_response_body_bytes, d.mem_response_body_bytes);
  } else if (auto* s = std::get_if<RedirectSchemeMw>(&m.spec)) {
    body["scheme"] = s->scheme;
    put(body, "port", s->port, std::string());
    put(body, "permanent", s->permanent, false);
  } else if (auto* r = std::get_if<RedirectRegexMw>(&m.spec)) {
    body["regex"] = r->regex;
    body["replacement"] = r->replacement;
    put(body, "permanent", r->permanent, false);
  } else if (auto* c = std::get_if<ChainMw>(&m.spec)) {
    json names = json::array();
    for (const auto& n : c->middlewares) names.push_back(chain_ref(n));
    body["middlewares"] = names;
  } else if (auto* sp = std::get_if<StripPrefixMw>(&m.spec)) {
    body["prefixes"] = sp->prefixes;
  } else if (auto* a = std::get_if<AddPrefixMw>(&m.spec)) {
    body["prefix"] = a->prefix;
  } else {
    access_json(body, m.spec, redact);
  }
  return json{{middleware_type(m.spec), body}};
}

json transport_json(const ServersTransport& t) {
  const ServersTransport d;
  json j = json::object();
  put(j, "serverName", t.server_name, d.server_name);
  put(j, "insecureSkipVerify", t.insecure_skip_verify, d.insecure_skip_verify);
  put_list(j, "rootCAs", t.root_cas);
  put(j, "maxIdleConnsPerHost", t.max_idle_conns_per_host, d.max_idle_conns_per_host);
  json timeouts = json::object();
  put(timeouts, "dialTimeout", t.dial_timeout, d.dial_timeout);
  put(timeouts, "responseHeaderTimeout", t.response_header_timeout, d.response_header_timeout);
  put(timeouts, "idleConnTimeout", t.idle_conn_timeout, d.idle_conn_timeout);
  if (!timeouts.empty()) j["forwardingTimeouts"] = timeouts;
  return j;
}

json certificate_json(const TlsCertificate& c) {
  json j{{"certFile", c.cert_file}, {"keyFile", c.key_file}};
  put_list(j, "stores", c.stores);
  return j;
}

json tls_options_json(const TlsOptions& o) {
  const TlsOptions d;
  json j = json::object();
  put(j, "minVersion", o.min_version, d.min_version);
  put(j, "maxVersion", o.max_version, d.max_version);
  put_list(j, "cipherSuites", o.cipher_suites);
  put_list(j, "curvePreferences", o.curve_preferences);
  put_list(j, "alpnProtocols", o.alpn_protocols);
  put(j, "sniStrict", o.sni_strict, d.sni_strict);
  return j;
}

json tcp_service_json(const TcpService& s) {
  json servers = json::array();
  for (const auto& srv : s.servers) {
    json sj{{"address", srv.address}};
    put(sj, "weight", srv.weight, 1);
    servers.push_back(sj);
  }
  json lb{{"servers", servers}};
  return lb;
}

json udp_service_json(const UdpService& s) {
  json servers = json::array();
  for (const auto& srv : s.servers) {
    json sj{{"address", srv.address}};
    put(sj, "weight", srv.weight, 1);
    servers.push_back(sj);
  }
  return json{{"servers", servers}};
}

// ---- YAML emission -------------------------------------------------------------------------

void emit(YAML::Emitter& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : j) emit(out, item);
      out << YAML::EndSeq;
      return;
    case json::value_t::string:
      out << YAML::DoubleQuoted << j.get<std::string>();
      return;
    case json::value_t::boolean:
      out << j.get<bool>();
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      out << j.get<int64_t>();
      return;
    case json::value_t::number_float:
      out << j.get<double>();
      return;
    default:
      out << YAML::Null;
  }
}

// ---- routes.json pieces --------------------------------------------------------------------

template <class Router>
json router_json(const Router& r, const std::string& kind) {
  json j;
  if constexpr (!std::is_same_v<Router, UdpRouter>) j["rule"] = r.rule;
  j["entryPoints"] = r.entry_points;
  j["service"] = r.service;
  if constexpr (std::is_same_v<Router, HttpRouter>) j["middlewares"] = r.middlewares;
  if constexpr (!std::is_same_v<Router, UdpRouter>) {
    if (r.tls) j["tls"] = router_tls_json(*r.tls, r.tls->options, kind == "tcp");
    j["priority"] = r.priority != 0 ? r.priority : static_cast<int>(r.rule.size());  // effective: default = rule length
  }
  j["provider"] = r.provider;
  j["status"] = "enabled";
  return j;
}

json disabled_router_json(const DisabledRouter& d) {
  json j = std::visit([&](const auto& r) { return router_json(r, d.kind); }, d.router);
  j["status"] = "disabled";
  j["error"] = d.error;
  return j;
}

void add_health(json& servers, const std::string& service, const char* key,
                const ServerHealth& health) {
  if (!health) return;
  for (auto& s : servers)
    if (auto h = health(service, s[key].get<std::string>())) s["healthy"] = *h;
}

json error_json(const ConfigError& e) {
  json j{
      {"provider", e.provider}, {"source", e.source}, {"label", e.label}, {"message", e.message}};
  if (e.line > 0) j["line"] = e.line;
  return j;
}

}  // namespace

std::string export_name(const std::string& name) {
  std::string r = name;
  for (char& c : r)
    if (c == '@') c = '-';
  return r;
}

json traefik_json(const Dynamic& d) {
  json http = json::object(), tcp = json::object(), udp = json::object(), tls = json::object();
  auto name = [](const std::string& n) { return export_name(n); };
  const auto& H = d.http;
  for (const auto& [n, r] : H.routers) {
    json j{{"rule", r.rule}, {"service", ref(r.service, H.services, true)}};
    put_list(j, "entryPoints", r.entry_points);
    if (!r.middlewares.empty()) {
      json m = json::array();
      for (const auto& x : r.middlewares) m.push_back(ref(x, H.middlewares, true));
      j["middlewares"] = m;
    }
    put(j, "priority", r.priority, 0);
    if (r.tls) j["tls"] = router_tls_json(*r.tls, ref(r.tls->options, d.tls.options, true), false);
    http["routers"][name(n)] = j;
  }
  for (const auto& [n, s] : H.services) {
    json j = json::object();
    if (s.load_balancer)
      j["loadBalancer"] = load_balancer_json(
          *s.load_balancer, ref(s.load_balancer->servers_transport, H.servers_transports, true));
    if (s.weighted) {
      json services = json::array();
      for (const auto& w : *s.weighted) {
        json wj{{"name", ref(w.name, H.services, true)}};
        put(wj, "weight", w.weight, 1);
        services.push_back(wj);
      }
      j["weighted"] = {{"services", services}};
    }
    http["services"][name(n)] = j;
  }
  for (const auto& [n, m] : H.middlewares)
    http["middlewares"][name(n)] =
        middleware_json(m, [&](const std::string& x) { return ref(x, H.middlewares, true); }, false);
  for (const auto& [n, t] : H.servers_transports)
    http["serversTransports"][name(n)] = transport_json(t);
  for (const auto& [n, r] : d.tcp.routers) {
    json j{{"rule", r.rule}, {"service", ref(r.service, d.tcp.services, true)}};
    put_list(j, "entryPoints", r.entry_points);
    put(j, "priority", r.priority, 0);
    if (r.tls) j["tls"] = router_tls_json(*r.tls, ref(r.tls->options, d.tls.options, true), true);
    tcp["routers"][name(n)] = j;
  }
  for (const auto& [n, s] : d.tcp.services)
    tcp["services"][name(n)] = {{"loadBalancer", tcp_service_json(s)}};
  for (const auto& [n, r] : d.udp.routers) {
    json j{{"service", ref(r.service, d.udp.services, true)}};
    put_list(j, "entryPoints", r.entry_points);
    udp["routers"][name(n)] = j;
  }
  for (const auto& [n, s] : d.udp.services)
    udp["services"][name(n)] = {{"loadBalancer", udp_service_json(s)}};
  if (!d.tls.certificates.empty()) {
    tls["certificates"] = json::array();
    for (const auto& c : d.tls.certificates) tls["certificates"].push_back(certificate_json(c));
  }
  for (const auto& [n, o] : d.tls.options) tls["options"][name(n)] = tls_options_json(o);
  for (const auto& [n, s] : d.tls.stores) {
    json j = json::object();
    if (s.default_certificate) {
      j["defaultCertificate"] = certificate_json(*s.default_certificate);
      j["defaultCertificate"].erase("stores");
    }
    tls["stores"][n] = j;
  }
  json out = json::object();
  if (!http.empty()) out["http"] = http;
  if (!tcp.empty()) out["tcp"] = tcp;
  if (!udp.empty()) out["udp"] = udp;
  if (!tls.empty()) out["tls"] = tls;
  return out;
}

std::string dynamic_yaml(const Dynamic& d) {
  const json j = traefik_json(d);
  if (j.empty()) return "{}\n";
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

json routes_json(const Merged& m, const ServerHealth& health) {
  const Dynamic& d = m.dynamic;
  json http{
      {"routers", json::object()}, {"services", json::object()}, {"middlewares", json::object()}};
  json tcp{{"routers", json::object()}, {"services", json::object()}};
  json udp{{"routers", json::object()}, {"services", json::object()}};
  for (const auto& [n, r] : d.http.routers) http["routers"][n] = router_json(r, "http");
  for (const auto& [n, r] : d.tcp.routers) tcp["routers"][n] = router_json(r, "tcp");
  for (const auto& [n, r] : d.udp.routers) udp["routers"][n] = router_json(r, "udp");
  for (const auto& [n, dr] : m.disabled) {
    json& section = dr.kind == "http" ? http : dr.kind == "tcp" ? tcp : udp;
    section["routers"][n] = disabled_router_json(dr);
  }
  for (const auto& [n, s] : d.http.services) {
    json j = json::object();
    if (s.load_balancer) {
      j = load_balancer_json(*s.load_balancer, s.load_balancer->servers_transport);
      j["type"] = "loadBalancer";
      add_health(j["servers"], n, "url", health);
    } else if (s.weighted) {
      j["type"] = "weighted";
      j["services"] = json::array();
      for (const auto& w : *s.weighted)
        j["services"].push_back({{"name", w.name}, {"weight", w.weight}});
    }
    j["provider"] = s.provider;
    j["status"] = "enabled";
    http["services"][n] = j;
  }
  for (const auto& [n, mw] : d.http.middlewares) {
    json j = middleware_json(mw, [](const std::string& x) { return x; }, true);
    j["type"] = middleware_type(mw.spec);
    j["provider"] = mw.provider;
    j["status"] = "enabled";
    http["middlewares"][n] = j;
  }
  for (const auto& [n, s] : d.tcp.services) {
    json j = tcp_service_json(s);
    add_health(j["servers"], n, "address", health);
    j["type"] = "loadBalancer";
    j["provider"] = s.provider;
    j["status"] = "enabled";
    tcp["services"][n] = j;
  }
  for (const auto& [n, s] : d.udp.services) {
    json j = udp_service_json(s);
    add_health(j["servers"], n, "address", health);
    j["type"] = "loadBalancer";
    j["provider"] = s.provider;
    j["status"] = "enabled";
    udp["services"][n] = j;
  }
  json errors = json::array();
  for (const auto& e : m.errors) errors.push_back(error_json(e));
  return json{{"http", http}, {"tcp", tcp}, {"udp", udp}, {"errors", errors}};
}

}  // namespace portier::config
