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

void unsupported(Ctx& c, const YAML::Node& n, const std::string& path, const std::string& what) {
  c.error(n, path, what + " not supported yet");
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
  if (v == "true") out = true;
  else if (v == "false") out = false;
  else c.error(n, p, "expected true or false, got \"" + n.Scalar() + "\"");
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
    if (unit == "ns") scale = 1e-6;
    else if (unit == "us" || unit == "µs") scale = 1e-3;
    else if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60000;
    else if (unit == "h") scale = 3600000;
    else return false;
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
    if (it.second.IsNull()) out[k] = "";
    else if (scalar(c, it.second, join(p, k), "a string")) out[k] = it.second.Scalar();
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

// ---- HTTP ----------------------------------------------------------------------------------

void parse_domain(Ctx& c, const YAML::Node& n, const std::string& path, Domain& d) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "main") get(c, v, p, d.main);
    else if (k == "sans") get(c, v, p, d.sans);
    else return false;
    return true;
  });
  if (n.IsMap() && d.main.empty()) c.error(n, path + ".main", "main is required");
}

void parse_router_tls(Ctx& c, const YAML::Node& n, const std::string& path, RouterTls& t,
                      bool tcp) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "certresolver") get(c, v, p, t.cert_resolver);
    else if (k == "options") get(c, v, p, t.options);
    else if (k == "domains")
      list_items<Domain>(c, v, p, parse_domain, [&](Domain d) { t.domains.push_back(d); });
    else if (tcp && k == "passthrough") get(c, v, p, t.passthrough);
    else return false;
    return true;
  });
}

void parse_rule_syntax(Ctx& c, const YAML::Node& v, const std::string& p) {
  std::string syntax;
  get(c, v, p, syntax);
  if (!syntax.empty() && syntax != "v3")
    c.error(v, p, "ruleSyntax \"" + syntax + "\" not supported, only v3");
}

void parse_http_router(Ctx& c, const YAML::Node& n, const std::string& path, HttpRouter& r) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "rule") get(c, v, p, r.rule);
    else if (k == "entrypoints") get(c, v, p, r.entry_points);
    else if (k == "middlewares") get(c, v, p, r.middlewares);
    else if (k == "service") get(c, v, p, r.service);
    else if (k == "priority") get(c, v, p, r.priority);
    else if (k == "rulesyntax") parse_rule_syntax(c, v, p);
    else if (k == "tls") parse_router_tls(c, v, p, r.tls.emplace(), false);
    else if (k == "observability") unsupported(c, v, p, "observability");
    else return false;
    return true;
  });
}

void parse_health_check(Ctx& c, const YAML::Node& n, const std::string& path, HealthCheck& h) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "scheme") get(c, v, p, h.scheme);
    else if (k == "path") get(c, v, p, h.path);
    else if (k == "method") get(c, v, p, h.method);
    else if (k == "hostname") get(c, v, p, h.hostname);
    else if (k == "port") get(c, v, p, h.port);
    else if (k == "status") get(c, v, p, h.status);
    else if (k == "interval") get(c, v, p, h.interval);
    else if (k == "timeout") get(c, v, p, h.timeout);
    else if (k == "headers") get(c, v, p, h.headers);
    else if (k == "mode" || k == "followredirects") unsupported(c, v, p, "healthCheck." + k);
    else return false;
    return true;
  });
}

void parse_sticky(Ctx& c, const YAML::Node& n, const std::string& path, LoadBalancer& lb) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k != "cookie") return false;
    StickyCookie& s = lb.sticky_cookie.emplace();
    fields(c, v, p, [&](const std::string& k2, const YAML::Node& v2, const std::string& p2) {
      if (k2 == "name") get(c, v2, p2, s.name);
      else if (k2 == "secure") get(c, v2, p2, s.secure);
      else if (k2 == "httponly") get(c, v2, p2, s.http_only);
      else if (k2 == "samesite") get(c, v2, p2, s.same_site);
      else if (k2 == "maxage") get(c, v2, p2, s.max_age);
      else if (k2 == "path" || k2 == "domain") unsupported(c, v2, p2, "sticky.cookie." + k2);
      else return false;
      return true;
    });
    return true;
  });
}

void parse_http_server(Ctx& c, const YAML::Node& n, const std::string& path, HttpServer& s) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "url") get(c, v, p, s.url);
    else if (k == "weight") get(c, v, p, s.weight);
    else if (k == "preservepath") unsupported(c, v, p, "preservePath");
    else return false;
    return true;
  });
  if (s.url.empty()) c.error(n, path + ".url", "url is required");
}

void parse_load_balancer(Ctx& c, const YAML::Node& n, const std::string& path, LoadBalancer& lb) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "servers")
      list_items<HttpServer>(c, v, p, parse_http_server,
                             [&](HttpServer s) { lb.servers.push_back(std::move(s)); });
    else if (k == "passhostheader") get(c, v, p, lb.pass_host_header);
    else if (k == "healthcheck") parse_health_check(c, v, p, lb.health_check.emplace());
    else if (k == "sticky") parse_sticky(c, v, p, lb);
    else if (k == "serverstransport") get(c, v, p, lb.servers_transport);
    else if (k == "responseforwarding")
      fields(c, v, p, [&](const std::string& k2, const YAML::Node& v2, const std::string& p2) {
        if (k2 != "flushinterval") return false;
        get(c, v2, p2, lb.flush_interval);
        return true;
      });
    else if (k == "strategy") unsupported(c, v, p, "loadBalancer.strategy");
    else return false;
    return true;
  });
}

void parse_weighted(Ctx& c, const YAML::Node& n, const std::string& path,
                    std::vector<WeightedRef>& out) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "services") {
      auto parse = [](Ctx& c, const YAML::Node& n, const std::string& path, WeightedRef& r) {
        fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
          if (k == "name") get(c, v, p, r.name);
          else if (k == "weight") get(c, v, p, r.weight);
          else return false;
          return true;
        });
        if (r.name.empty()) c.error(n, path + ".name", "name is required");
      };
      list_items<WeightedRef>(c, v, p, parse, [&](WeightedRef r) { out.push_back(r); });
    } else if (k == "sticky" || k == "healthcheck") {
      unsupported(c, v, p, "weighted." + k);
    } else {
      return false;
    }
    return true;
  });
}

void parse_http_service(Ctx& c, const YAML::Node& n, const std::string& path, HttpService& s) {
  const size_t before = c.error_count();
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "loadbalancer") parse_load_balancer(c, v, p, s.load_balancer.emplace());
    else if (k == "weighted") parse_weighted(c, v, p, s.weighted.emplace());
    else if (k == "mirroring" || k == "failover") unsupported(c, v, p, "service type " + k);
    else return false;
    return true;
  });
  if (!n.IsMap()) return;
  if (s.load_balancer && s.weighted)
    c.error(n, path, "a service has exactly one of loadBalancer or weighted");
  else if (!s.load_balancer && !s.weighted && c.error_count() == before)
    c.error(n, path, "a service needs loadBalancer or weighted");
}

void parse_servers_transport(Ctx& c, const YAML::Node& n, const std::string& path,
                             ServersTransport& t) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "servername") get(c, v, p, t.server_name);
    else if (k == "insecureskipverify") get(c, v, p, t.insecure_skip_verify);
    else if (k == "rootcas") get(c, v, p, t.root_cas);
    else if (k == "maxidleconnsperhost") get(c, v, p, t.max_idle_conns_per_host);
    else if (k == "forwardingtimeouts")
      fields(c, v, p, [&](const std::string& k2, const YAML::Node& v2, const std::string& p2) {
        if (k2 == "dialtimeout") get(c, v2, p2, t.dial_timeout);
        else if (k2 == "responseheadertimeout") get(c, v2, p2, t.response_header_timeout);
        else if (k2 == "idleconntimeout") get(c, v2, p2, t.idle_conn_timeout);
        else if (k2 == "readidletimeout" || k2 == "pingtimeout")
          unsupported(c, v2, p2, "forwardingTimeouts." + k2);
        else return false;
        return true;
      });
    else if (k == "certificates" || k == "disablehttp2" || k == "peercerturi" || k == "spiffe")
      unsupported(c, v, p, "serversTransport." + k);
    else return false;
    return true;
  });
}

// ---- Middlewares ---------------------------------------------------------------------------

void parse_headers(Ctx& c, const YAML::Node& n, const std::string& path, HeadersMw& h) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "customrequestheaders") get(c, v, p, h.custom_request_headers);
    else if (k == "customresponseheaders") get(c, v, p, h.custom_response_headers);
    else if (k == "stsseconds") get(c, v, p, h.sts_seconds);
    else if (k == "stsincludesubdomains") get(c, v, p, h.sts_include_subdomains);
    else if (k == "stspreload") get(c, v, p, h.sts_preload);
    else if (k == "forcestsheader") get(c, v, p, h.force_sts_header);
    else if (k == "framedeny") get(c, v, p, h.frame_deny);
    else if (k == "customframeoptionsvalue") get(c, v, p, h.custom_frame_options_value);
    else if (k == "contenttypenosniff") get(c, v, p, h.content_type_nosniff);
    else if (k == "browserxssfilter") get(c, v, p, h.browser_xss_filter);
    else if (k == "custombrowserxssvalue") get(c, v, p, h.custom_browser_xss_value);
    else if (k == "referrerpolicy") get(c, v, p, h.referrer_policy);
    else if (k == "contentsecuritypolicy") get(c, v, p, h.content_security_policy);
    else if (k == "permissionspolicy") get(c, v, p, h.permissions_policy);
    else if (k.rfind("accesscontrol", 0) == 0 || k == "allowedhosts" ||
             k == "hostsproxyheaders" || k == "sslproxyheaders" || k == "isdevelopment" ||
             k == "publickey" || k == "featurepolicy" || k == "addvaryheader" ||
             k == "contentsecuritypolicyreportonly")
      unsupported(c, v, p, "headers option " + k);
    else return false;
    return true;
  });
}

void parse_buffering(Ctx& c, const YAML::Node& n, const std::string& path, BufferingMw& b) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "maxrequestbodybytes") get(c, v, p, b.max_request_body_bytes);
    else if (k == "memrequestbodybytes") get(c, v, p, b.mem_request_body_bytes);
    else if (k == "maxresponsebodybytes") get(c, v, p, b.max_response_body_bytes);
    else if (k == "memresponsebodybytes") get(c, v, p, b.mem_response_body_bytes);
    else if (k == "retryexpression") get(c, v, p, b.retry_expression);
    else return false;
    return true;
  });
}

template <class Spec>
void parse_redirect(Ctx& c, const YAML::Node& n, const std::string& path, Spec& r) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "permanent") get(c, v, p, r.permanent);
    else if constexpr (std::is_same_v<Spec, RedirectSchemeMw>) {
      if (k == "scheme") get(c, v, p, r.scheme);
      else if (k == "port") get(c, v, p, r.port);
      else return false;
    } else {
      if (k == "regex") get(c, v, p, r.regex);
      else if (k == "replacement") get(c, v, p, r.replacement);
      else return false;
    }
    return true;
  });
}

// A middleware whose only field is a list or a string, e.g. chain.middlewares.
template <class Value>
void parse_single(Ctx& c, const YAML::Node& n, const std::string& path, const char* field,
                  Value& out) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k != field) return false;
    get(c, v, p, out);
    return true;
  });
}

const std::set<std::string>& unsupported_middlewares() {
  static const std::set<std::string> names = {
      "basicauth",       "digestauth",       "forwardauth",      "ipallowlist",
      "ipwhitelist",     "ratelimit",        "inflightreq",      "compress",
      "retry",           "circuitbreaker",   "errors",           "grpcweb",
      "contenttype",     "passtlsclientcert", "plugin",          "replacepath",
      "replacepathregex", "stripprefixregex", "inflightconn"};
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
  if (k == "headers") parse_headers(c, v, p, m.spec.emplace<HeadersMw>());
  else if (k == "buffering") parse_buffering(c, v, p, m.spec.emplace<BufferingMw>());
  else if (k == "redirectscheme") parse_redirect(c, v, p, m.spec.emplace<RedirectSchemeMw>());
  else if (k == "redirectregex") parse_redirect(c, v, p, m.spec.emplace<RedirectRegexMw>());
  else if (k == "chain")
    parse_single(c, v, p, "middlewares", m.spec.emplace<ChainMw>().middlewares);
  else if (k == "stripprefix")
    parse_single(c, v, p, "prefixes", m.spec.emplace<StripPrefixMw>().prefixes);
  else if (k == "addprefix")
    parse_single(c, v, p, "prefix", m.spec.emplace<AddPrefixMw>().prefix);
  else if (unsupported_middlewares().count(k))
    c.error(it->first, p, "middleware type " + type + " not supported yet");
  else
    c.error(it->first, p, "unknown middleware type \"" + type + "\"");
}

// ---- TCP / UDP -----------------------------------------------------------------------------

void parse_tcp_router(Ctx& c, const YAML::Node& n, const std::string& path, TcpRouter& r) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "rule") get(c, v, p, r.rule);
    else if (k == "entrypoints") get(c, v, p, r.entry_points);
    else if (k == "service") get(c, v, p, r.service);
    else if (k == "priority") get(c, v, p, r.priority);
    else if (k == "rulesyntax") parse_rule_syntax(c, v, p);
    else if (k == "tls") parse_router_tls(c, v, p, r.tls.emplace(), true);
    else if (k == "middlewares") unsupported(c, v, p, "TCP middlewares");
    else return false;
    return true;
  });
}

void parse_tcp_server(Ctx& c, const YAML::Node& n, const std::string& path, TcpServer& s) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "address") get(c, v, p, s.address);
    else if (k == "weight") get(c, v, p, s.weight);
    else if (k == "tls") get(c, v, p, s.tls);
    else return false;
    return true;
  });
  if (s.address.empty()) c.error(n, path + ".address", "address is required");
}

void parse_tcp_service(Ctx& c, const YAML::Node& n, const std::string& path, TcpService& s) {
  const size_t before = c.error_count();
  bool has_lb = false;
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "weighted") return unsupported(c, v, p, "TCP weighted services"), true;
    if (k != "loadbalancer") return false;
    has_lb = true;
    fields(c, v, p, [&](const std::string& k2, const YAML::Node& v2, const std::string& p2) {
      if (k2 == "servers")
        list_items<TcpServer>(c, v2, p2, parse_tcp_server,
                              [&](TcpServer srv) { s.servers.push_back(std::move(srv)); });
      else if (k2 == "proxyprotocol")
        parse_single(c, v2, p2, "version", s.proxy_protocol_version);
      else if (k2 == "serverstransport" || k2 == "terminationdelay")
        unsupported(c, v2, p2, "TCP loadBalancer." + k2);
      else return false;
      return true;
    });
    return true;
  });
  if (n.IsMap() && !has_lb && c.error_count() == before)
    c.error(n, path, "a TCP service needs loadBalancer");
}

void parse_udp_router(Ctx& c, const YAML::Node& n, const std::string& path, UdpRouter& r) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "entrypoints") get(c, v, p, r.entry_points);
    else if (k == "service") get(c, v, p, r.service);
    else return false;
    return true;
  });
}

void parse_udp_service(Ctx& c, const YAML::Node& n, const std::string& path, UdpService& s) {
  const size_t before = c.error_count();
  bool has_lb = false;
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "weighted") return unsupported(c, v, p, "UDP weighted services"), true;
    if (k != "loadbalancer") return false;
    has_lb = true;
    fields(c, v, p, [&](const std::string& k2, const YAML::Node& v2, const std::string& p2) {
      if (k2 != "servers") return false;
      auto parse = [](Ctx& c, const YAML::Node& n, const std::string& path, UdpServer& srv) {
        fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
          if (k == "address") get(c, v, p, srv.address);
          else if (k == "weight") get(c, v, p, srv.weight);
          else return false;
          return true;
        });
        if (srv.address.empty()) c.error(n, path + ".address", "address is required");
      };
      list_items<UdpServer>(c, v2, p2, parse, [&](UdpServer srv) { s.servers.push_back(srv); });
      return true;
    });
    return true;
  });
  if (n.IsMap() && !has_lb && c.error_count() == before)
    c.error(n, path, "a UDP service needs loadBalancer");
}

// ---- TLS -----------------------------------------------------------------------------------

void parse_certificate(Ctx& c, const YAML::Node& n, const std::string& path, TlsCertificate& t,
                       bool with_stores) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "certfile") get(c, v, p, t.cert_file);
    else if (k == "keyfile") get(c, v, p, t.key_file);
    else if (with_stores && k == "stores") get(c, v, p, t.stores);
    else return false;
    return true;
  });
  if (t.cert_file.empty()) c.error(n, path + ".certFile", "certFile is required");
  if (t.key_file.empty()) c.error(n, path + ".keyFile", "keyFile is required");
}

void check_tls_version(Ctx& c, const YAML::Node& v, const std::string& p, const std::string& s) {
  static const std::set<std::string> known = {"VersionTLS10", "VersionTLS11", "VersionTLS12",
                                              "VersionTLS13"};
  if (!s.empty() && !known.count(s))
    c.error(v, p, "unknown TLS version \"" + s + "\" (VersionTLS10..VersionTLS13)");
}

void parse_tls_options(Ctx& c, const YAML::Node& n, const std::string& path, TlsOptions& o) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "minversion") get(c, v, p, o.min_version), check_tls_version(c, v, p, o.min_version);
    else if (k == "maxversion")
      get(c, v, p, o.max_version), check_tls_version(c, v, p, o.max_version);
    else if (k == "ciphersuites") get(c, v, p, o.cipher_suites);
    else if (k == "curvepreferences") get(c, v, p, o.curve_preferences);
    else if (k == "alpnprotocols") get(c, v, p, o.alpn_protocols);
    else if (k == "snistrict") get(c, v, p, o.sni_strict);
    else if (k == "clientauth" || k == "preferserverciphersuites" || k == "disablesessiontickets")
      unsupported(c, v, p, "tls.options." + k);
    else return false;
    return true;
  });
}

void parse_tls_store(Ctx& c, const YAML::Node& n, const std::string& path, TlsStore& s) {
  fields(c, n, path, [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "defaultcertificate")
      parse_certificate(c, v, p, s.default_certificate.emplace(), false);
    else if (k == "defaultgeneratedcert") unsupported(c, v, p, "defaultGeneratedCert");
    else return false;
    return true;
  });
}

// ---- Top level -----------------------------------------------------------------------------

void parse_root(Ctx& c, const YAML::Node& root) {
  Dynamic& d = c.out->dynamic;
  fields(c, root, "", [&](const std::string& k, const YAML::Node& v, const std::string& p) {
    if (k == "http") {
      fields(c, v, p, [&](const std::string& s, const YAML::Node& v2, const std::string& p2) {
        if (s == "routers") named_items(c, v2, "http.routers", d.http.routers, parse_http_router);
        else if (s == "services")
          named_items(c, v2, "http.services", d.http.services, parse_http_service);
        else if (s == "middlewares")
          named_items(c, v2, "http.middlewares", d.http.middlewares, parse_middleware);
        else if (s == "serverstransports")
          named_items(c, v2, "http.serversTransports", d.http.servers_transports,
                      parse_servers_transport);
        else return false;
        return true;
      });
    } else if (k == "tcp") {
      fields(c, v, p, [&](const std::string& s, const YAML::Node& v2, const std::string& p2) {
        if (s == "routers") named_items(c, v2, "tcp.routers", d.tcp.routers, parse_tcp_router);
        else if (s == "services")
          named_items(c, v2, "tcp.services", d.tcp.services, parse_tcp_service);
        else if (s == "middlewares" || s == "serverstransports") unsupported(c, v2, p2, "tcp." + s);
        else return false;
        return true;
      });
    } else if (k == "udp") {
      fields(c, v, p, [&](const std::string& s, const YAML::Node& v2, const std::string& p2) {
        if (s == "routers") named_items(c, v2, "udp.routers", d.udp.routers, parse_udp_router);
        else if (s == "services")
          named_items(c, v2, "udp.services", d.udp.services, parse_udp_service);
        else return false;
        return true;
      });
    } else if (k == "tls") {
      fields(c, v, p, [&](const std::string& s, const YAML::Node& v2, const std::string& p2) {
        if (s == "certificates") {
          auto parse = [](Ctx& c, const YAML::Node& n, const std::string& p, TlsCertificate& t) {
            parse_certificate(c, n, p, t, true);
          };
          list_items<TlsCertificate>(c, v2, "tls.certificates", parse, [&](TlsCertificate t) {
            d.tls.certificates.push_back(std::move(t));
          });
        } else if (s == "options") {
          named_items(c, v2, "tls.options", d.tls.options, parse_tls_options);
        } else if (s == "stores") {
          named_items(c, v2, "tls.stores", d.tls.stores, parse_tls_store);
        } else {
          return false;
        }
        return true;
      });
    } else {
      return false;
    }
    return true;
  });
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
