#include "config/dynamic_yaml.hpp"

#include <algorithm>
#include <charconv>
#include <list>
#include <functional>
#include <limits>
#include <set>

#include <boost/container/small_vector.hpp>

#include "config/yaml_tree.hpp"
#include "config/yaml_util.hpp"

namespace portier::config {
namespace {

// ---- private YAML helpers (the static loader has its own; the lead may dedupe) ------------

struct Ctx {
  std::string source;
  Fragment* out = nullptr;

  void error(const YamlNode& n, const std::string& path, std::string message) {
    out->errors.push_back({"file", source, path, std::move(message), n.line + 1});
  }
  size_t error_count() const { return out->errors.size(); }
};

// ASCII lower case (YAML keys and booleans; no locale lookup per character).
char lower_ascii(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch; }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = lower_ascii(ch);
  return r;
}

std::string join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string r;
  r.reserve(path.size() + 1 + key.size());
  r += path;
  r += '.';
  r += key;
  return r;
}

// Handles one entry of a mapping; returns false when the key is unknown.
using FieldFn =
    std::function<bool(const std::string& key, const YamlNode& value, const std::string& path)>;

// Visits every entry of mapping `n` with its key lower-cased. A null node is an empty mapping
// (Traefik reads `tls:` and `tls: {}` alike).
void fields(Ctx& c, const YamlNode& n, const std::string& path, const FieldFn& fn) {
  if (n.is_null()) return;
  if (!n.is_map()) return c.error(n, path, "expected a mapping");
  n.each_entry([&](const YamlNode& k, const YamlNode& v) {
    if (!k.is_scalar()) return c.error(k, path, "keys must be strings");
    const std::string key(k.text);
    const std::string p = join(path, key);
    if (!fn(key, v, p)) c.error(k, p, "unknown key \"" + key + "\"");
  });
}

bool scalar(Ctx& c, const YamlNode& n, const std::string& path, const char* expected) {
  if (n.is_scalar()) return true;
  c.error(n, path, std::string("expected ") + expected);
  return false;
}

void get(Ctx& c, const YamlNode& n, const std::string& p, std::string& out) {
  if (scalar(c, n, p, "a string")) out = n.text;
}

void get(Ctx& c, const YamlNode& n, const std::string& p, bool& out) {
  if (!scalar(c, n, p, "true or false")) return;
  const std::string v = lower(n.text);
  if (v == "true")
    out = true;
  else if (v == "false")
    out = false;
  else
    c.error(n, p, "expected true or false, got \"" + std::string(n.text) + "\"");
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

void get(Ctx& c, const YamlNode& n, const std::string& p, int64_t& out) {
  if (!scalar(c, n, p, "an integer")) return;
  if (!parse_int(n.text, out)) c.error(n, p, "expected an integer, got \"" + std::string(n.text) + "\"");
}

void get(Ctx& c, const YamlNode& n, const std::string& p, int& out) {
  int64_t v = out;
  const size_t before = c.error_count();
  get(c, n, p, v);
  if (c.error_count() != before) return;
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return c.error(n, p, "integer out of range");
  out = static_cast<int>(v);
}

void get(Ctx& c, const YamlNode& n, const std::string& p, Millis& out) {
  if (!scalar(c, n, p, "a duration")) return;
  if (auto d = parse_duration(n.text))  // config/yaml_util.hpp: Go durations or bare seconds
    out = *d;
  else
    c.error(n, p, "expected a duration like \"10s\" or \"250ms\", got \"" + std::string(n.text) + "\"");
}

void get(Ctx& c, const YamlNode& n, const std::string& p, std::vector<std::string>& out) {
  if (n.is_null()) return out.clear();
  if (!n.is_sequence()) return c.error(n, p, "expected a list");
  out.clear();
  size_t i = 0;
  n.each_item([&](const YamlNode& item) {
    if (item.is_scalar())
      out.emplace_back(item.text);
    else
      scalar(c, item, p + "[" + std::to_string(i) + "]", "a string");
    ++i;
  });
}

void get(Ctx& c, const YamlNode& n, const std::string& p,
         std::map<std::string, std::string>& out) {
  if (n.is_null()) return;
  if (!n.is_map()) return c.error(n, p, "expected a mapping");
  n.each_entry([&](const YamlNode& key, const YamlNode& v) {
    if (!key.is_scalar()) return c.error(key, p, "keys must be strings");
    const std::string k(key.text);
    // `X-Removed: ""` removes a header; a YAML null means the same.
    if (v.is_null())
      out[k] = "";
    else if (scalar(c, v, join(p, k), "a string"))
      out[k] = v.text;
  });
}

// Visits a sequence of items; each one that parses without errors is passed to `keep`.
template <class T, class Parse, class Keep>
void list_items(Ctx& c, const YamlNode& n, const std::string& path, Parse parse, Keep keep) {
  if (n.is_null()) return;
  if (!n.is_sequence()) return c.error(n, path, "expected a list");
  size_t i = 0;
  n.each_item([&](const YamlNode& node) {
    T item;
    const size_t before = c.error_count();
    parse(c, node, path + "[" + std::to_string(i++) + "]", item);
    if (c.error_count() == before) keep(std::move(item));
  });
}

// Visits a mapping of named items (`section` is the canonical path, e.g. "http.routers"); each
// one that parses without errors is stored under its name, with its source recorded.
template <class T, class Parse>
void named_items(Ctx& c, const YamlNode& n, const std::string& section,
                 std::map<std::string, T>& out, Parse parse) {
  if (n.is_null()) return;
  if (!n.is_map()) return c.error(n, section, "expected a mapping of names");
  n.each_entry([&](const YamlNode& key, const YamlNode& value) {
    if (!key.is_scalar() || key.text.empty())
      return c.error(key, section, "names must be non-empty strings");
    const std::string name(key.text);
    std::string p = section + "." + name;
    if (name.find('@') != std::string::npos)
      return c.error(key, p, "names must not contain '@' (the provider is added when merging)");
    T item;
    const size_t before = c.error_count();
    parse(c, value, p, item);
    if (c.error_count() != before) return;
    out.insert_or_assign(std::move(name), std::move(item));
    c.out->sources.insert_or_assign(std::move(p), c.source);
  });
}

// Dispatches the entries of one mapping to per-key handlers. Keys are registered in Traefik's
// spelling and compared case-insensitively; unregistered keys are "unknown key" errors.
class Fields {
 public:
  using Handler = std::function<void(const YamlNode& value, const std::string& path)>;

  explicit Fields(Ctx& c) : c_(c) {}

  template <class T>
  Fields& bind(const char* key, T& out) {
    return on(key, [this, &out](const YamlNode& v, const std::string& p) { get(c_, v, p, out); });
  }
  Fields& on(const char* key, Handler h) {
    handlers_.push_back({key, std::move(h), nullptr});
    return *this;
  }
  // Keys Traefik knows that portier does not implement: "<prefix><key> not supported yet".
  Fields& unsupported(std::initializer_list<const char*> keys, std::string prefix) {
    const std::string* kept = &prefixes_.emplace_back(std::move(prefix));
    for (const char* key : keys) handlers_.push_back({key, nullptr, kept});
    return *this;
  }
  void run(const YamlNode& n, const std::string& path) const {
    fields(c_, n, path, [&](const std::string& k, const YamlNode& v, const std::string& p) {
      // The last registration of a key wins; keys compare case-insensitively (Traefik's way).
      for (auto it = handlers_.rbegin(); it != handlers_.rend(); ++it) {
        if (!iequals(k, it->key)) continue;
        if (it->unsupported_prefix)
          c_.error(v, p, *it->unsupported_prefix + it->key + " not supported yet");
        else
          it->handler(v, p);
        return true;
      }
      return false;
    });
  }

 private:
  struct Entry {
    const char* key;  // Traefik's spelling
    Handler handler;
    const std::string* unsupported_prefix;  // set for unsupported keys
  };
  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
    return true;
  }
  Ctx& c_;
  boost::container::small_vector<Entry, 12> handlers_;  // most mappings: no allocation
  std::list<std::string> prefixes_;  // stable addresses for Entry::unsupported_prefix
};

// ---- HTTP ----------------------------------------------------------------------------------

void parse_domain(Ctx& c, const YamlNode& n, const std::string& path, Domain& d) {
  Fields(c).bind("main", d.main).bind("sans", d.sans).run(n, path);
  if (n.is_map() && d.main.empty()) c.error(n, path + ".main", "main is required");
}

void parse_router_tls(Ctx& c, const YamlNode& n, const std::string& path, RouterTls& t,
                      bool tcp) {
  Fields f(c);
  f.bind("certResolver", t.cert_resolver).bind("options", t.options);
  f.on("domains", [&](const YamlNode& v, const std::string& p) {
    list_items<Domain>(c, v, p, parse_domain, [&](Domain d) { t.domains.push_back(d); });
  });
  if (tcp) f.bind("passthrough", t.passthrough);
  f.run(n, path);
}

void parse_rule_syntax(Ctx& c, const YamlNode& v, const std::string& p) {
  std::string syntax;
  get(c, v, p, syntax);
  if (!syntax.empty() && syntax != "v3")
    c.error(v, p, "ruleSyntax \"" + syntax + "\" not supported, only v3");
}

void parse_http_router(Ctx& c, const YamlNode& n, const std::string& path, HttpRouter& r) {
  Fields(c)
      .bind("rule", r.rule)
      .bind("entryPoints", r.entry_points)
      .bind("middlewares", r.middlewares)
      .bind("service", r.service)
      .bind("priority", r.priority)
      .on("ruleSyntax",
          [&](const YamlNode& v, const std::string& p) { parse_rule_syntax(c, v, p); })
      .on("tls", [&](const YamlNode& v,
                     const std::string& p) { parse_router_tls(c, v, p, r.tls.emplace(), false); })
      .unsupported({"observability"}, "router ")
      .run(n, path);
}

void parse_health_check(Ctx& c, const YamlNode& n, const std::string& path, HealthCheck& h) {
  Fields(c)
      .unsupported({"scheme"}, "healthCheck.")
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

void parse_sticky(Ctx& c, const YamlNode& n, const std::string& path, LoadBalancer& lb) {
  Fields(c)
      .on("cookie",
          [&](const YamlNode& v, const std::string& p) {
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

void parse_http_server(Ctx& c, const YamlNode& n, const std::string& path, HttpServer& s) {
  Fields(c)
      .bind("url", s.url)
      .bind("weight", s.weight)
      .unsupported({"preservePath"}, "")
      .run(n, path);
  if (s.url.empty()) c.error(n, path + ".url", "url is required");
}

void parse_load_balancer(Ctx& c, const YamlNode& n, const std::string& path, LoadBalancer& lb) {
  Fields(c)
      .on("servers",
          [&](const YamlNode& v, const std::string& p) {
            list_items<HttpServer>(c, v, p, parse_http_server,
                                   [&](HttpServer s) { lb.servers.push_back(std::move(s)); });
          })
      .bind("passHostHeader", lb.pass_host_header)
      .on("healthCheck",
          [&](const YamlNode& v, const std::string& p) {
            parse_health_check(c, v, p, lb.health_check.emplace());
          })
      .on("sticky", [&](const YamlNode& v, const std::string& p) { parse_sticky(c, v, p, lb); })
      .bind("serversTransport", lb.servers_transport)
      .on("responseForwarding",
          [&](const YamlNode& v, const std::string& p) {
            Fields(c).bind("flushInterval", lb.flush_interval).run(v, p);
          })
      .unsupported({"strategy"}, "loadBalancer.")
      .run(n, path);
}

void parse_weighted_ref(Ctx& c, const YamlNode& n, const std::string& path, WeightedRef& r) {
  Fields(c).bind("name", r.name).bind("weight", r.weight).run(n, path);
  if (r.name.empty()) c.error(n, path + ".name", "name is required");
}

void parse_weighted(Ctx& c, const YamlNode& n, const std::string& path,
                    std::vector<WeightedRef>& out) {
  Fields(c)
      .on("services",
          [&](const YamlNode& v, const std::string& p) {
            list_items<WeightedRef>(c, v, p, parse_weighted_ref,
                                    [&](WeightedRef r) { out.push_back(r); });
          })
      .unsupported({"sticky", "healthCheck"}, "weighted.")
      .run(n, path);
}

void parse_http_service(Ctx& c, const YamlNode& n, const std::string& path, HttpService& s) {
  const size_t before = c.error_count();
  Fields(c)
      .on("loadBalancer",
          [&](const YamlNode& v, const std::string& p) {
            parse_load_balancer(c, v, p, s.load_balancer.emplace());
          })
      .on("weighted", [&](const YamlNode& v,
                          const std::string& p) { parse_weighted(c, v, p, s.weighted.emplace()); })
      .unsupported({"mirroring", "failover"}, "service type ")
      .run(n, path);
  if (!n.is_map() && !n.is_null()) return;  // reported by run(); an empty value is a service without type
  if (s.load_balancer && s.weighted)
    c.error(n, path, "a service has exactly one of loadBalancer or weighted");
  else if (!s.load_balancer && !s.weighted && c.error_count() == before)
    c.error(n, path, "a service needs loadBalancer or weighted");
}

void parse_servers_transport(Ctx& c, const YamlNode& n, const std::string& path,
                             ServersTransport& t) {
  Fields(c)
      .bind("serverName", t.server_name)
      .bind("insecureSkipVerify", t.insecure_skip_verify)
      .bind("rootCAs", t.root_cas)
      .bind("maxIdleConnsPerHost", t.max_idle_conns_per_host)
      .on("forwardingTimeouts",
          [&](const YamlNode& v, const std::string& p) {
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

void parse_headers(Ctx& c, const YamlNode& n, const std::string& path, HeadersMw& h) {
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

void parse_buffering(Ctx& c, const YamlNode& n, const std::string& path, BufferingMw& b) {
  Fields(c)
      .bind("maxRequestBodyBytes", b.max_request_body_bytes)
      .bind("memRequestBodyBytes", b.mem_request_body_bytes)
      .bind("maxResponseBodyBytes", b.max_response_body_bytes)
      .bind("memResponseBodyBytes", b.mem_response_body_bytes)
      .unsupported({"retryExpression"}, "buffering.")
      .run(n, path);
}

void parse_ip_strategy(Ctx& c, const YamlNode& n, const std::string& path, IpStrategy& s) {
  Fields(c)
      .bind("depth", s.depth)
      .bind("excludedIPs", s.excluded_ips)
      .on("ipv6Subnet", [&](const YamlNode& v, const std::string& p) { get(c, v, p, s.ipv6_subnet.emplace()); })
      .run(n, path);
}

void parse_source_criterion(Ctx& c, const YamlNode& n, const std::string& path, SourceCriterion& s) {
  Fields(c)
      .on("ipStrategy", [&](const YamlNode& v, const std::string& p) { parse_ip_strategy(c, v, p, s.ip_strategy.emplace()); })
      .bind("requestHeaderName", s.request_header_name)
      .bind("requestHost", s.request_host)
      .run(n, path);
}

// basicAuth, ipAllowList / ipWhiteList, rateLimit, inFlightReq; false for another type.
bool parse_access_middleware(Ctx& c, const std::string& k, const YamlNode& v, const std::string& p,
                             Middleware& m) {
  if (k == "basicauth") {
    auto& b = m.spec.emplace<BasicAuthMw>();
    Fields(c).bind("users", b.users).bind("usersFile", b.users_file).bind("realm", b.realm)
        .bind("removeHeader", b.remove_header).bind("headerField", b.header_field).run(v, p);
  } else if (k == "ipallowlist" || k == "ipwhitelist") {
    auto& a = m.spec.emplace<IpAllowListMw>();
    a.white_list = k == "ipwhitelist";
    Fields f(c);
    f.bind("sourceRange", a.source_range).on("ipStrategy", [&](const YamlNode& x, const std::string& q) {
      parse_ip_strategy(c, x, q, a.ip_strategy.emplace());
    });
    if (!a.white_list) f.bind("rejectStatusCode", a.reject_status_code);
    f.run(v, p);
  } else if (k == "ratelimit") {
    auto& r = m.spec.emplace<RateLimitMw>();
    Fields(c).bind("average", r.average).bind("period", r.period).bind("burst", r.burst)
        .on("sourceCriterion", [&](const YamlNode& x, const std::string& q) { parse_source_criterion(c, x, q, r.source_criterion.emplace()); })
        .unsupported({"redis"}, "rateLimit.")
        .run(v, p);
  } else if (k == "inflightreq") {
    auto& f = m.spec.emplace<InFlightReqMw>();
    Fields(c).bind("amount", f.amount)
        .on("sourceCriterion", [&](const YamlNode& x, const std::string& q) { parse_source_criterion(c, x, q, f.source_criterion.emplace()); })
        .run(v, p);
  } else {
    return false;
  }
  return true;
}

const std::set<std::string>& unsupported_middlewares() {
  static const std::set<std::string> names = {"digestauth",
                                              "forwardauth",
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

void parse_middleware(Ctx& c, const YamlNode& n, const std::string& path, Middleware& m) {
  if (!n.is_map() || n.size != 1)
    return c.error(n, path, "a middleware is a mapping with exactly one type, e.g. headers");
  const YamlNode& key = *n.first;
  const YamlNode& v = *key.next;
  // yaml-cpp's as<std::string>(""): a null key reads "null", a collection "".
  const std::string type = key.is_scalar() ? std::string(key.text) : key.is_null() ? "null" : "";
  const std::string k = lower(type);
  const std::string p = join(path, type);
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
  } else if (parse_access_middleware(c, k, v, p, m)) {
  } else if (unsupported_middlewares().count(k)) {
    c.error(key, p, "middleware type " + type + " not supported yet");
  } else {
    c.error(key, p, "unknown middleware type \"" + type + "\"");
  }
}

// ---- TCP / UDP -----------------------------------------------------------------------------

void parse_tcp_router(Ctx& c, const YamlNode& n, const std::string& path, TcpRouter& r) {
  Fields(c)
      .bind("rule", r.rule)
      .bind("entryPoints", r.entry_points)
      .bind("service", r.service)
      .bind("priority", r.priority)
      .on("ruleSyntax",
          [&](const YamlNode& v, const std::string& p) { parse_rule_syntax(c, v, p); })
      .on("tls", [&](const YamlNode& v,
                     const std::string& p) { parse_router_tls(c, v, p, r.tls.emplace(), true); })
      .unsupported({"middlewares"}, "TCP router ")
      .run(n, path);
}

void parse_tcp_server(Ctx& c, const YamlNode& n, const std::string& path, TcpServer& s) {
  Fields(c)
      .bind("address", s.address)
      .bind("weight", s.weight)
      .on("tls",
          [&](const YamlNode& v, const std::string& p) {
            bool on = false;
            get(c, v, p, on);
            if (on) c.error(v, p, "servers[].tls (TLS to the backend) not supported yet");
          })
      .run(n, path);
  if (s.address.empty()) c.error(n, path + ".address", "address is required");
}

void parse_udp_server(Ctx& c, const YamlNode& n, const std::string& path, UdpServer& s) {
  Fields(c).bind("address", s.address).bind("weight", s.weight).run(n, path);
  if (s.address.empty()) c.error(n, path + ".address", "address is required");
}

// TCP and UDP services: a loadBalancer with servers (weighted is not supported yet).
template <class Service, class Server, class ParseServer>
void parse_l4_service(Ctx& c, const YamlNode& n, const std::string& path, Service& s,
                      const char* kind, ParseServer parse_server) {
  const size_t before = c.error_count();
  bool has_lb = false;
  Fields(c)
      .on("loadBalancer",
          [&](const YamlNode& v, const std::string& p) {
            has_lb = true;
            Fields lb(c);
            lb.on("servers", [&](const YamlNode& v2, const std::string& p2) {
              list_items<Server>(c, v2, p2, parse_server,
                                 [&](Server srv) { s.servers.push_back(std::move(srv)); });
            });
            if constexpr (std::is_same_v<Service, TcpService>) {
              lb.unsupported({"proxyProtocol", "serversTransport", "terminationDelay"}, "TCP loadBalancer.");
            }
            lb.run(v, p);
          })
      .unsupported({"weighted"}, std::string(kind) + " service type ")
      .run(n, path);
  if ((n.is_map() || n.is_null()) && !has_lb && c.error_count() == before)
    c.error(n, path, std::string("a ") + kind + " service needs loadBalancer");
}

void parse_tcp_service(Ctx& c, const YamlNode& n, const std::string& path, TcpService& s) {
  parse_l4_service<TcpService, TcpServer>(c, n, path, s, "TCP", parse_tcp_server);
}

void parse_udp_router(Ctx& c, const YamlNode& n, const std::string& path, UdpRouter& r) {
  Fields(c).bind("entryPoints", r.entry_points).bind("service", r.service).run(n, path);
}

void parse_udp_service(Ctx& c, const YamlNode& n, const std::string& path, UdpService& s) {
  parse_l4_service<UdpService, UdpServer>(c, n, path, s, "UDP", parse_udp_server);
}

// ---- TLS -----------------------------------------------------------------------------------

void parse_certificate(Ctx& c, const YamlNode& n, const std::string& path, TlsCertificate& t,
                       bool with_stores) {
  Fields f(c);
  f.bind("certFile", t.cert_file).bind("keyFile", t.key_file);
  if (with_stores) f.bind("stores", t.stores);
  f.run(n, path);
  if (t.cert_file.empty()) c.error(n, path + ".certFile", "certFile is required");
  if (t.key_file.empty()) c.error(n, path + ".keyFile", "keyFile is required");
}

void parse_tls_version(Ctx& c, const YamlNode& v, const std::string& p, std::string& out) {
  static const std::set<std::string> known = {"VersionTLS10", "VersionTLS11", "VersionTLS12",
                                              "VersionTLS13"};
  get(c, v, p, out);
  if (!out.empty() && !known.count(out))
    c.error(v, p, "unknown TLS version \"" + out + "\" (VersionTLS10..VersionTLS13)");
}

void parse_tls_options(Ctx& c, const YamlNode& n, const std::string& path, TlsOptions& o) {
  Fields(c)
      .on("minVersion", [&](const YamlNode& v,
                            const std::string& p) { parse_tls_version(c, v, p, o.min_version); })
      .on("maxVersion", [&](const YamlNode& v,
                            const std::string& p) { parse_tls_version(c, v, p, o.max_version); })
      .bind("cipherSuites", o.cipher_suites)
      .bind("curvePreferences", o.curve_preferences)
      .bind("alpnProtocols", o.alpn_protocols)
      .bind("sniStrict", o.sni_strict)
      .unsupported({"clientAuth", "preferServerCipherSuites", "disableSessionTickets"},
                   "tls.options.")
      .run(n, path);
}

void parse_tls_store(Ctx& c, const YamlNode& n, const std::string& path, TlsStore& s) {
  Fields(c)
      .on("defaultCertificate",
          [&](const YamlNode& v, const std::string& p) {
            parse_certificate(c, v, p, s.default_certificate.emplace(), false);
          })
      .unsupported({"defaultGeneratedCert"}, "tls.stores.")
      .run(n, path);
}

void parse_tls_certificate(Ctx& c, const YamlNode& n, const std::string& p, TlsCertificate& t) {
  parse_certificate(c, n, p, t, true);
}

// ---- Top level -----------------------------------------------------------------------------

// Binds `key` to the named-items section `section` (e.g. "http.routers").
template <class T, class Parse>
void section(Fields& f, Ctx& c, const char* key, const std::string& section,
             std::map<std::string, T>& out, Parse parse) {
  f.on(key, [&c, section, &out, parse](const YamlNode& v, const std::string&) {
    named_items(c, v, section, out, parse);
  });
}

void parse_root(Ctx& c, const YamlNode& root) {
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
  tls.on("certificates", [&](const YamlNode& v, const std::string&) {
    list_items<TlsCertificate>(c, v, "tls.certificates", parse_tls_certificate,
                               [&](TlsCertificate t) { d.tls.certificates.push_back(t); });
  });
  section(tls, c, "options", "tls.options", d.tls.options, parse_tls_options);
  section(tls, c, "stores", "tls.stores", d.tls.stores, parse_tls_store);
  auto sub = [](const Fields& f) {
    return [&f](const YamlNode& v, const std::string& p) { f.run(v, p); };
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
  YamlTree tree;
  std::string error;
  int line = 0;
  if (!tree.load(text, error, line)) {
    out.errors.push_back({"file", source, "", "invalid YAML: " + error, line});
    return out;
  }
  parse_root(c, tree.root());
  return out;
}

}  // namespace portier::config
