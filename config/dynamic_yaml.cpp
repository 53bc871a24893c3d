#include "config/dynamic_yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <limits>
#include <set>

namespace portier::config {
namespace {

// ---- private YAML helpers (the static loader has its own; the lead may dedupe) ------------

struct Ctx {
  std::string source;
  Fragment* out = nullptr;

  void error(const YAML::Node& n, const std::string& path, std::string message) {
    const YAML::Mark m = n.Mark();
    int line = m.is_null() ? 0 : m.line + 1;
    out->errors.push_back({"file", source, path, std::move(message), line});
  }
  size_t error_count() const { return out->errors.size(); }
};

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Handles one entry of a mapping; returns false when the key is unknown.
using FieldFn =
    std::function<bool(const std::string& key, const YAML::Node& value, const std::string& path)>;

// Visits every entry of mapping `n` with its key lower-cased. A null node is an empty mapping
// (Traefik reads `tls:` and `tls: {}` alike).
void fields(Ctx& c, const YAML::Node& n, const std::string& path, const FieldFn& fn) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) return c.error(n, path, "expected a mapping");
  for (const auto& it : n) {
    if (!it.first.IsScalar()) {
      c.error(it.first, path, "keys must be strings");
      continue;
    }
    const std::string key = it.first.Scalar();
    const std::string p = join(path, key);
    if (!fn(lower(key), it.second, p)) c.error(it.first, p, "unknown key \"" + key + "\"");
  }
}

bool scalar(Ctx& c, const YAML::Node& n, const std::string& path, const char* expected) {
  if (n.IsScalar()) return true;
  c.error(n, path, std::string("expected ") + expected);
  return false;
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, std::string& out) {
  if (scalar(c, n, p, "a string")) out = n.Scalar();
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, bool& out) {
  if (!scalar(c, n, p, "true or false")) return;
  const std::string v = lower(n.Scalar());
  if (v == "true")
    out = true;
  else if (v == "false")
    out = false;
  else
    c.error(n, p, "expected true or false, got \"" + n.Scalar() + "\"");
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, int64_t& out) {
  if (!scalar(c, n, p, "an integer")) return;
  if (!parse_int(n.Scalar(), out)) c.error(n, p, "expected an integer, got \"" + n.Scalar() + "\"");
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, int& out) {
  int64_t v = out;
  const size_t before = c.error_count();
  get(c, n, p, v);
  if (c.error_count() != before) return;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return c.error(n, p, "integer out of range");
  out = static_cast<int>(v);
}

// Go durations ("1m30s", "250ms", "1.5h") or a bare number of seconds, as Traefik accepts.
bool parse_duration(std::string_view s, Millis& out) {
  if (s.empty()) return false;
  int64_t whole = 0;
  if (parse_int(s, whole)) {
    if (whole < 0) return false;
    out = Millis(whole * 1000);
    return true;
  }
  double total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return false;
    double value = 0;
    auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + i, value);
    if (ec != std::errc() || ptr != s.data() + i) return false;
    size_t unit_start = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns")
      scale = 1e-6;
    else if (unit == "us" || unit == "µs")
      scale = 1e-3;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60000;
    else if (unit == "h")
      scale = 3600000;
    else
      return false;
    total_ms += value * scale;
  }
  out = Millis(static_cast<int64_t>(total_ms + 0.5));
  return true;
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, Millis& out) {
  if (!scalar(c, n, p, "a duration")) return;
  if (!parse_duration(n.Scalar(), out))
    c.error(n, p, "expected a duration like \"10s\" or \"250ms\", got \"" + n.Scalar() + "\"");
}

void get(Ctx& c, const YAML::Node& n, const std::string& p, std::vector<std::string>& out) {
  if (n.IsNull()) return out.clear();
  if (!n.IsSequence()) return c.error(n, p, "expected a list");
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string ip = p + "[" + std::to_string(i) + "]";
    if (scalar(c, n[i], ip, "a string")) out.push_back(n[i].Scalar());
  }
}

void get(Ctx& c, const YAML::Node& n, const std::string& p,
         std::map<std::string, std::string>& out) {
  if (n.IsNull()) return;
  if (!n.IsMap()) return c.error(n, p, "expected a mapping");
  for (const auto& it : n) {
    if (!it.first.IsScalar()) {
      c.error(it.first, p, "keys must be strings");
      continue;
    }
    const std::string k = it.first.Scalar();
    // `X-Removed: ""` removes a header; a YAML null means the same.
    if (it.second.IsNull())
      out[k] = "";
    else if (scalar(c, it.second, join(p, k), "a string"))
      out[k] = it.second.Scalar();
  }
}

// Visits a sequence of items; each one that parses without errors is passed to `keep`.
template <class T, class Parse, class Keep>
void list_items(Ctx& c, const YAML::Node& n, const std::string& path, Parse parse, Keep keep) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) return c.error(n, path, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    T item;
    const size_t before = c.error_count();
    parse(c, n[i], path + "[" + std::to_string(i) + "]", item);
    if (c.error_count() == before) keep(std::move(item));
  }
}

// Visits a mapping of named items (`section` is the canonical path, e.g. "http.routers"); each
// one that parses without errors is stored under its name, with its source recorded.
template <class T, class Parse>
void named_items(Ctx& c, const YAML::Node& n, const std::string& section,
                 std::map<std::string, T>& out, Parse parse) {
  if (n.IsNull()) return;
  if (!n.IsMap()) return c.error(n, section, "expected a mapping of names");
  for (const auto& it : n) {
    if (!it.first.IsScalar() || it.first.Scalar().empty()) {
      c.error(it.first, section, "names must be non-empty strings");
      continue;
    }
    const std::string name = it.first.Scalar();
    const std::string p = section + "." + name;
    if (name.find('@') != std::string::npos) {
      c.error(it.first, p, "names must not contain '@' (the provider is added when merging)");
      continue;
    }
    T item;
    const size_t before = c.error_count();
    parse(c, it.second, p, item);
    if (c.error_count() != before) continue;
    out[name] = std::move(item);
    c.out->sources[p] = c.source;
  }
}

// Dispatches the entries of one mapping to per-key handlers. Keys are registered in Traefik's
// spelling and compared case-insensitively; unregistered keys are "unknown key" errors.
class Fields {
 public:
  using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;

  explicit Fields(Ctx& c) : c_(c) {}

  template <class T>
  Fields& bind(const char* key, T& out) {
    return on(key, [this, &out](const YAML::Node& v, const std::string& p) { get(c_, v, p, out); });
  }
  Fields& on(const char* key, Handler h) {
    handlers_[lower(key)] = std::move(h);
    return *this;
  }
  // Keys Traefik knows that portier does not implement: "<prefix><key> not supported yet".
  Fields& unsupported(std::initializer_list<const char*> keys, const std::string& prefix) {
    for (const char* key : keys)
      on(key, [this, prefix, key](const YAML::Node& v, const std::string& p) {
        c_.error(v, p, prefix + key + " not supported yet");
      });
    return *this;
  }
  void run(const YAML::Node& n, const std::string& path) const {
    fields(c_, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
      const auto it = handlers_.find(k);
      if (it == handlers_.end()) return false;
      it->second(v, p);
      return true;
    });
  }

 private:
  Ctx& c_;
  std::map<std::string, Handler> handlers_;
};

// ---- HTTP ----------------------------------------------------------------------------------

void parse_domain(Ctx& c, const YAML::Node& n, const std::string& path, Domain& d) {
  Fields(c).bind("main", d.main).bind("sans", d.sans).run(n, path);
  if (n.IsMap() && d.main.empty()) c.error(n, path + ".main", "main is required");
}

void parse_router_tls(Ctx& c, const YAML::Node& n, const std::string& path, RouterTls& t,
                      bool tcp) {
  Fields f(c);
  f.bind("certResolver", t.cert_resolver).bind("options", t.options);
  f.on("domains", [&](const YAML::Node& v, const std::string& p) {
    list_items<Domain>(c, v, p, parse_domain, [&](Domain d) { t.domains.push_back(d); });
  });
  if (tcp) f.bind("passthrough", t.passthrough);
  f.run(n, path);
}

void parse_rule_syntax(Ctx& c, const YAML::Node& v, const std::string& p) {
  std::string syntax;
  get(c, v, p, syntax);
  if (!syntax.empty() && syntax != "v3")
    c.error(v, p, "ruleSyntax \"" + syntax + "\" not supported, only v3");
}

void parse_http_router(Ctx& c, const YAML::Node& n, const std::string& path, HttpRouter& r) {
  Fields(c)
      .bind("rule", r.rule)
      .bind("entryPoints", r.entry_points)
      .bind("middlewares", r.middlewares)
      .bind("service", r.service)
      .bind("priority", r.priority)
      .on("ruleSyntax",
          [&](const YAML::Node& v, const std::string& p) { parse_rule_syntax(c, v, p); })
      .on("tls", [&](const YAML::Node& v,
                     const std::string& p) { parse_router_tls(c, v, p, r.tls.emplace(), false); })
      .unsupported({"observability"}, "router ")
      .run(n, path);
}

void parse_health_check(Ctx& c, const YAML::Node& n, const std::string& path, HealthCheck& h) {
  Fields(c)
      .bind("scheme", h.scheme)
      .bind("path", h.path)
      .bind("method", h.method)
      .bind("hostname", h.hostname)
      .bind("port", h.port)
      .bind("status", h.status)
      .bind("interval", h.interval)
      .bind("timeout", h.timeout)
      .bind("headers", h.headers)
      .unsupported({"mode", "followRedirects"}, "healthCheck.")
      .run(n, path);
}

void parse_sticky(Ctx& c, const YAML::Node& n, const std::string& path, LoadBalancer& lb) {
  Fields(c)
      .on("cookie",
          [&](const YAML::Node& v, const std::string& p) {
            StickyCookie& s = lb.sticky_cookie.emplace();
            Fields(c)
                .bind("name", s.name)
                .bind("secure", s.secure)
                .bind("httpOnly", s.http_only)
                .bind("sameSite", s.same_site)
                .bind("maxAge", s.max_age)
                .unsupported({"path", "domain"}, "sticky.cookie.")
                .run(v, p);
          })
      .run(n, path);
}

void parse_http_server(Ctx& c, const YAML::Node& n, const std::string& path, HttpServer& s) {
  Fields(c)
      .bind("url", s.url)
      .bind("weight", s.weight)
      .unsupported({"preservePath"}, "")
      .run(n, path);
  if (s.url.empty()) c.error(n, path + ".url", "url is required");
}

void parse_load_balancer(Ctx& c, const YAML::Node& n, const std::string& path, LoadBalancer& lb) {
  Fields(c)
      .on("servers",
          [&](const YAML::Node& v, const std::string& p) {
            list_items<HttpServer>(c, v, p, parse_http_server,
                                   [&](HttpServer s) { lb.servers.push_back(std::move(s)); });
          })
      .bind("passHostHeader", lb.pass_host_header)
      .on("healthCheck",
          [&](const YAML::Node& v, const std::string& p) {
            parse_health_check(c, v, p, lb.health_check.emplace());
          })
      .on("sticky", [&](const YAML::Node& v, const std::string& p) { parse_sticky(c, v, p, lb); })
      .bind("serversTransport", lb.servers_transport)
      .on("responseForwarding",
          [&](const YAML::Node& v, const std::string& p) {
            Fields(c).bind("flushInterval", lb.flush_interval).run(v, p);
          })
      .unsupported({"strategy"}, "loadBalancer.")
      .run(n, path);
}

void parse_weighted_ref(Ctx& c, const YAML::Node& n, const std::string& path, WeightedRef& r) {
  Fields(c).bind("name", r.name).bind("weight", r.weight).run(n, path);
  if (r.name.empty()) c.error(n, path + ".name", "name is required");
}

void parse_weighted(Ctx& c, const YAML::Node& n, const std::string& path,
                    std::vector<WeightedRef>& out) {
  Fields(c)
      .on("services",
          [&](const YAML::Node& v, const std::string& p) {
            list_items<WeightedRef>(c, v, p, parse_weighted_ref,
                                    [&](WeightedRef r) { out.push_back(r); });
          })
      .unsupported({"sticky", "healthCheck"}, "weighted.")
      .run(n, path);
}

void parse_http_service(Ctx& c, const YAML::Node& n, const std::string& path, HttpService& s) {
  const size_t before = c.error_count();
  Fields(c)
      .on("loadBalancer",
          [&](const YAML::Node& v, const std::string& p) {
            parse_load_balancer(c, v, p, s.load_balancer.emplace());
          })
      .on("weighted", [&](const YAML::Node& v,
                          const std::string& p) { parse_weighted(c, v, p, s.weighted.emplace()); })
      .unsupported({"mirroring", "failover"}, "service type ")
      .run(n, path);
  if (!n.IsMap()) return;
  if (s.load_balancer && s.weighted)
    c.error(n, path, "a service has exactly one of loadBalancer or weighted");
  else if (!s.load_balancer && !s.weighted && c.error_count() == before)
    c.error(n, path, "a service needs loadBalancer or weighted");
}

void parse_servers_transport(Ctx& c, const YAML::Node& n, const std::string& path,
                             ServersTransport& t) {
  Fields(c)
      .bind("serverName", t.server_name)
      .bind("insecureSkipVerify", t.insecure_skip_verify)
      .bind("rootCAs", t.root_cas)
      .bind("maxIdleConnsPerHost", t.max_idle_conns_per_host)
      .on("forwardingTimeouts",
          [&](const YAML::Node& v, const std::string& p) {
            Fields(c)
                .bind("dialTimeout", t.dial_timeout)
                .bind("responseHeaderTimeout", t.response_header_timeout)
                .bind("idleConnTimeout", t.idle_conn_timeout)
                .unsupported({"readIdleTimeout", "pingTimeout"}, "forwardingTimeouts.")
                .run(v, p);
          })
      .unsupported({"certificates", "disableHTTP2", "peerCertURI", "spiffe"}, "serversTransport.")
      .run(n, path);
}

// ---- Middlewares ---------------------------------------------------------------------------

void parse_headers(Ctx& c, const YAML::Node& n, const std::string& path, HeadersMw& h) {
  Fields(c)
      .bind("customRequestHeaders", h.custom_request_headers)
      .bind("customResponseHeaders", h.custom_response_headers)
      .bind("stsSeconds", h.sts_seconds)
      .bind("stsIncludeSubdomains", h.sts_include_subdomains)
      .bind("stsPreload", h.sts_preload)
      .bind("forceSTSHeader", h.force_sts_header)
      .bind("frameDeny", h.frame_deny)
      .bind("customFrameOptionsValue", h.custom_frame_options_value)
      .bind("contentTypeNosniff", h.content_type_nosniff)
      .bind("browserXssFilter", h.browser_xss_filter)
      .bind("customBrowserXSSValue", h.custom_browser_xss_value)
      .bind("referrerPolicy", h.referrer_policy)
      .bind("contentSecurityPolicy", h.content_security_policy)
      .bind("permissionsPolicy", h.permissions_policy)
      .unsupported(
          {"accessControlAllowCredentials", "accessControlAllowHeaders",
           "accessControlAllowMethods", "accessControlAllowOriginList",
           "accessControlAllowOriginListRegex", "accessControlExposeHeaders", "accessControlMaxAge",
           "addVaryHeader", "allowedHosts", "hostsProxyHeaders", "sslProxyHeaders", "isDevelopment",
           "publicKey", "featurePolicy", "contentSecurityPolicyReportOnly"},
          "headers.")
      .run(n, path);
}

void parse_buffering(Ctx& c, const YAML::Node& n, const std::string& path, BufferingMw& b) {
  Fields(c)
      .bind("maxRequestBodyBytes", b.max_request_body_bytes)
      .bind("memRequestBodyBytes", b.mem_request_body_bytes)
      .bind("maxResponseBodyBytes", b.max_response_body_bytes)
      .bind("memResponseBodyBytes", b.mem_response_body_bytes)
      .bind("retryExpression", b.retry_expression)
      .run(n, path);
}

const std::set<std::string>& unsupported_middlewares() {
  static const std::set<std::string> names = {"basicauth",
                                              "digestauth",
                                              "forwardauth",
                                              "ipallowlist",
                                              "ipwhitelist",
                                              "ratelimit",
                                              "inflightreq",
                                              "compress",
                                              "retry",
                                              "circuitbreaker",
                                              "errors",
                                              "grpcweb",
                                              "contenttype",
                                              "passtlsclientcert",
                                              "plugin",
                                              "replacepath",
                                              "replacepathregex",
                                              "stripprefixregex",
                                              "inflightconn"};
  return names;
}

void parse_middleware(Ctx& c, const YAML::Node& n, const std::string& path, Middleware& m) {
  if (!n.IsMap() || n.size() != 1)
    return c.error(n, path, "a middleware is a mapping with exactly one type, e.g. headers");
  const auto it = n.begin();
  const std::string type = it->first.as<std::string>("");
  const std::string k = lower(type);
  const std::string p = join(path, type);
  const YAML::Node& v = it->second;
  if (k == "headers") {
    parse_headers(c, v, p, m.spec.emplace<HeadersMw>());
  } else if (k == "buffering") {
    parse_buffering(c, v, p, m.spec.emplace<BufferingMw>());
  } else if (k == "redirectscheme") {
    auto& r = m.spec.emplace<RedirectSchemeMw>();
    Fields(c)
        .bind("scheme", r.scheme)
        .bind("port", r.port)
        .bind("permanent", r.permanent)
        .run(v, p);
  } else if (k == "redirectregex") {
    auto& r = m.spec.emplace<RedirectRegexMw>();
    Fields(c)
        .bind("regex", r.regex)
        .bind("replacement", r.replacement)
        .bind("permanent", r.permanent)
        .run(v, p);
  } else if (k == "chain") {
    Fields(c).bind("middlewares", m.spec.emplace<ChainMw>().middlewares).run(v, p);
  } else if (k == "stripprefix") {
    Fields(c)
        .bind("prefixes", m.spec.emplace<StripPrefixMw>().prefixes)
        .unsupported({"forceSlash"}, "stripPrefix.")
        .run(v, p);
  } else if (k == "addprefix") {
    Fields(c).bind("prefix", m.spec.emplace<AddPrefixMw>().prefix).run(v, p);
  } else if (unsupported_middlewares().count(k)) {
    c.error(it->first, p, "middleware type " + type + " not supported yet");
  } else {
    c.error(it->first, p, "unknown middleware type \"" + type + "\"");
  }
}

// ---- TCP / UDP -----------------------------------------------------------------------------

void parse_tcp_router(Ctx& c, const YAML::Node& n, const std::string& path, TcpRouter& r) {
  Fields(c)
      .bind("rule", r.rule)
      .bind("entryPoints", r.entry_points)
      .bind("service", r.service)
      .bind("priority", r.priority)
      .on("ruleSyntax",
          [&](const YAML::Node& v, const std::string& p) { parse_rule_syntax(c, v, p); })
      .on("tls", [&](const YAML::Node& v,
                     const std::string& p) { parse_router_tls(c, v, p, r.tls.emplace(), true); })
      .unsupported({"middlewares"}, "TCP router ")
      .run(n, path);
}

void parse_tcp_server(Ctx& c, const YAML::Node& n, const std::string& path, TcpServer& s) {
  Fields(c).bind("address", s.address).bind("weight", s.weight).bind("tls", s.tls).run(n, path);
  if (s.address.empty()) c.error(n, path + ".address", "address is required");
}

void parse_udp_server(Ctx& c, const YAML::Node& n, const std::string& path, UdpServer& s) {
  Fields(c).bind("address", s.address).bind("weight", s.weight).run(n, path);
  if (s.address.empty()) c.error(n, path + ".address", "address is required");
}

// TCP and UDP services: a loadBalancer with servers (weighted is not supported yet).
template <class Service, class Server, class ParseServer>
void parse_l4_service(Ctx& c, const YAML::Node& n, const std::string& path, Service& s,
                      const char* kind, ParseServer parse_server) {
  const size_t before = c.error_count();
  bool has_lb = false;
  Fields(c)
      .on("loadBalancer",
          [&](const YAML::Node& v, const std::string& p) {
            has_lb = true;
            Fields lb(c);
            lb.on("servers", [&](const YAML::Node& v2, const std::string& p2) {
              list_items<Server>(c, v2, p2, parse_server,
                                 [&](Server srv) { s.servers.push_back(std::move(srv)); });
            });
            if constexpr (std::is_same_v<Service, TcpService>) {
              lb.on("proxyProtocol", [&](const YAML::Node& v2, const std::string& p2) {
                Fields(c).bind("version", s.proxy_protocol_version).run(v2, p2);
              });
              lb.unsupported({"serversTransport", "terminationDelay"}, "TCP loadBalancer.");
            }
            lb.run(v, p);
          })
      .unsupported({"weighted"}, std::string(kind) + " service type ")
      .run(n, path);
  if (n.IsMap() && !has_lb && c.error_count() == before)
    c.error(n, path, std::string("a ") + kind + " service needs loadBalancer");
}

void parse_tcp_service(Ctx& c, const YAML::Node& n, const std::string& path, TcpService& s) {
  parse_l4_service<TcpService, TcpServer>(c, n, path, s, "TCP", parse_tcp_server);
}

void parse_udp_router(Ctx& c, const YAML::Node& n, const std::string& path, UdpRouter& r) {
  Fields(c).bind("entryPoints", r.entry_points).bind("service", r.service).run(n, path);
}

void parse_udp_service(Ctx& c, const YAML::Node& n, const std::string& path, UdpService& s) {
  parse_l4_service<UdpService, UdpServer>(c, n, path, s, "UDP", parse_udp_server);
}

// ---- TLS -----------------------------------------------------------------------------------

void parse_certificate(Ctx& c, const YAML::Node& n, const std::string& path, TlsCertificate& t,
                       bool with_stores) {
  Fields f(c);
  f.bind("certFile", t.cert_file).bind("keyFile", t.key_file);
  if (with_stores) f.bind("stores", t.stores);
  f.run(n, path);
  if (t.cert_file.empty()) c.error(n, path + ".certFile", "certFile is required");
  if (t.key_file.empty()) c.error(n, path + ".keyFile", "keyFile is required");
}

void parse_tls_version(Ctx& c, const YAML::Node& v, const std::string& p, std::string& out) {
  static const std::set<std::string> known = {"VersionTLS10", "VersionTLS11", "VersionTLS12",
                                              "VersionTLS13"};
  get(c, v, p, out);
  if (!out.empty() && !known.count(out))
    c.error(v, p, "unknown TLS version \"" + out + "\" (VersionTLS10..VersionTLS13)");
}

void parse_tls_options(Ctx& c, const YAML::Node& n, const std::string& path, TlsOptions& o) {
  Fields(c)
      .on("minVersion", [&](const YAML::Node& v,
                            const std::string& p) { parse_tls_version(c, v, p, o.min_version); })
      .on("maxVersion", [&](const YAML::Node& v,
                            const std::string& p) { parse_tls_version(c, v, p, o.max_version); })
      .bind("cipherSuites", o.cipher_suites)
      .bind("curvePreferences", o.curve_preferences)
      .bind("alpnProtocols", o.alpn_protocols)
      .bind("sniStrict", o.sni_strict)
      .unsupported({"clientAuth", "preferServerCipherSuites", "disableSessionTickets"},
                   "tls.options.")
      .run(n, path);
}

void parse_tls_store(Ctx& c, const YAML::Node& n, const std::string& path, TlsStore& s) {
  Fields(c)
      .on("defaultCertificate",
          [&](const YAML::Node& v, const std::string& p) {
            parse_certificate(c, v, p, s.default_certificate.emplace(), false);
          })
      .unsupported({"defaultGeneratedCert"}, "tls.stores.")
      .run(n, path);
}

void parse_tls_certificate(Ctx& c, const YAML::Node& n, const std::string& p, TlsCertificate& t) {
  parse_certificate(c, n, p, t, true);
}

// ---- Top level -----------------------------------------------------------------------------

// Binds `key` to the named-items section `section` (e.g. "http.routers").
template <class T, class Parse>
void section(Fields& f, Ctx& c, const char* key, const std::string& section,
             std::map<std::string, T>& out, Parse parse) {
  f.on(key, [&c, section, &out, parse](const YAML::Node& v, const std::string&) {
    named_items(c, v, section, out, parse);
  });
}

void parse_root(Ctx& c, const YAML::Node& root) {
  Dynamic& d = c.out->dynamic;
  Fields http(c), tcp(c), udp(c), tls(c);
  section(http, c, "routers", "http.routers", d.http.routers, parse_http_router);
  section(http, c, "services", "http.services", d.http.services, parse_http_service);
  section(http, c, "middlewares", "http.middlewares", d.http.middlewares, parse_middleware);
  section(http, c, "serversTransports", "http.serversTransports", d.http.servers_transports,
          parse_servers_transport);
  section(tcp, c, "routers", "tcp.routers", d.tcp.routers, parse_tcp_router);
  section(tcp, c, "services", "tcp.services", d.tcp.services, parse_tcp_service);
  tcp.unsupported({"middlewares", "serversTransports"}, "tcp.");
  section(udp, c, "routers", "udp.routers", d.udp.routers, parse_udp_router);
  section(udp, c, "services", "udp.services", d.udp.services, parse_udp_service);
  tls.on("certificates", [&](const YAML::Node& v, const std::string&) {
    list_items<TlsCertificate>(c, v, "tls.certificates", parse_tls_certificate,
                               [&](TlsCertificate t) { d.tls.certificates.push_back(t); });
  });
  section(tls, c, "options", "tls.options", d.tls.options, parse_tls_options);
  section(tls, c, "stores", "tls.stores", d.tls.stores, parse_tls_store);
  auto sub = [](const Fields& f) {
    return [&f](const YAML::Node& v, const std::string& p) { f.run(v, p); };
  };
  Fields(c)
      .on("http", sub(http))
      .on("tcp", sub(tcp))
      .on("udp", sub(udp))
      .on("tls", sub(tls))
      .run(root, "");
}

}  // namespace

Fragment parse_dynamic_yaml(std::string_view text, const std::string& source) {
  Fragment out;
  Ctx c{source, &out};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    out.errors.push_back({"file", source, "", "invalid YAML: " + e.msg, line});
    return out;
  }
  try {
    parse_root(c, root);
  } catch (const YAML::Exception& e) {  // defensive: yaml-cpp conversions should not throw here
    out.errors.push_back({"file", source, "", std::string("invalid YAML: ") + e.what(), 0});
  }
  return out;
}

}  // namespace portier::config
