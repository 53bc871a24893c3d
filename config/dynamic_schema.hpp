#pragma once
// The Traefik v3 dynamic configuration's fields, declared once (as Traefik's paerser reads its
// struct tags). Each type of config/dynamic.hpp has a `describe(T&, V&)` below listing its keys
// in Traefik's spelling, the member each sets, how the value is read (ranges, references) and
// what portier rejects as "not supported". Three visitors walk these declarations:
//   the YAML reader (config/dynamic_yaml.cpp), the Docker label decoder
//   (discovery/label_fields.cpp) and the writer of Traefik JSON/YAML (config/dynamic_json.cpp).
// Keys match case-insensitively on both input paths, as in Traefik; defaults are the struct's
// member initializers (the writer omits a field equal to it, unless kAlways).
//
// To add a field to a middleware: the member in config/dynamic.hpp, then ONE line in its
// describe():   v.field("maxAge", m.max_age, {.range = kCount});
// To add a middleware type: a struct in config/dynamic.hpp with `static constexpr const char*
// type = "basicAuth";`, its describe() here, and its entry in the MiddlewareSpec variant (the
// type table); remove its name from kUnsupportedMiddlewares. YAML, labels and the writer then
// know it; tests/unit/config/dynamic_schema_test.cpp round-trips every declared field. TCP
// middlewares (tcp.middlewares) work alike through TcpMiddlewareSpec.
//
// The visitor interface (V):
//   v.field(key, member, Opt)   member: std::string, bool, int, int64_t, Millis (scalars),
//                               std::vector<std::string> (YAML sequence; comma list in a label),
//                               std::map<std::string, std::string> (YAML mapping; in a label
//                               the next segment is the map key, case kept)
//   v.object(key, std::optional<T>&, D = Describe)  a nested mapping; present = engaged. In a
//                               label, `key=true|false` alone engages or resets it.
//   v.items(key, std::vector<T>&, Opt, D = Describe) a sequence of mappings (`key[N].field` in
//                               labels)
//   v.group(key, fn)            a nested mapping whose keys belong to this struct: fn(v')
//   v.unsupported(key, hint)    Traefik has it, portier does not: "KEY is not supported"
//   v.unsupported_unless_false(key, hint)   the same, except that `false` is accepted
//   v.fixed(key, value)         the only value accepted ("" too); not stored, not written
//   v.invariant(fn)             fn() -> "" or a message about the whole object; the YAML
//                               reader checks it after the fields (declare it last)
//   v.has(key)                  whether the input had `key` (for invariants; true elsewhere)
// A describe() must not read the object's values except inside invariant(): the writer passes
// a const object (through const_cast; visitors other than the readers never assign).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "config/dynamic.hpp"
#include "config/value_parsers.hpp"

namespace portier::config {

// What a string field names, so the writer can map references (export_name).
enum class Ref : uint8_t {
  none,
  http_service,
  http_middleware,
  servers_transport,
  tls_options,
  tcp_service,
  tcp_middleware,
  tcp_servers_transport,
  udp_service
};

enum FieldFlag : unsigned {
  kAlways = 1,    // the writer writes the field even when it equals the default
  kRequired = 2,  // YAML: a missing or empty value is "KEY is required"
  kNoLabel = 4,   // not a Docker label (labels have their own form, e.g. loadbalancer.server)
  kNegative = 8,  // a duration that may be negative ("-1s": Go's meaning, e.g. "no deadline")
};

struct Opt {
  IntRange range = kAnyInt;
  unsigned flags = 0;
  Ref ref = Ref::none;
  const std::vector<std::string_view>* choices = nullptr;  // a string must be one of these
};

// Calls the describe() found by argument-dependent lookup.
struct Describe {
  template <class T, class V>
  void operator()(T& x, V& v) const {
    describe(x, v);
  }
};

// Reads one scalar's text into a member; "" or what is wrong with the value.
std::string read_scalar(std::string_view text, std::string& out, const Opt& o);
std::string read_scalar(std::string_view text, bool& out, const Opt& o);
std::string read_scalar(std::string_view text, int& out, const Opt& o);
std::string read_scalar(std::string_view text, int64_t& out, const Opt& o);
std::string read_scalar(std::string_view text, Millis& out, const Opt& o);

// "10s", "250ms", "0s": Traefik's form of a duration.
std::string format_duration(Millis ms);

// Middleware types Traefik has and portier does not implement yet, in Traefik's spelling.
inline constexpr auto kUnsupportedMiddlewares = std::to_array<std::string_view>({
    "plugin"});

// Engages the alternative of `spec` (MiddlewareSpec or TcpMiddlewareSpec) whose type is `name`
// (any case); false when none is.
template <class Spec>
bool emplace_middleware(Spec& spec, std::string_view name) {
  auto try_all = [&]<size_t... I>(std::index_sequence<I...>) {
    auto try_one = [&](auto index) {
      using T = std::variant_alternative_t<decltype(index)::value, Spec>;
      if (!iequals(name, T::type)) return false;
      spec.template emplace<decltype(index)::value>();
      return true;
    };
    return (try_one(std::integral_constant<size_t, I>{}) || ...);
  };
  return try_all(std::make_index_sequence<std::variant_size_v<Spec>>{});
}
// Traefik's spelling of `name` when it is in kUnsupportedMiddlewares, else "".
std::string_view unsupported_middleware(std::string_view name);

template <class Spec, class V>
void describe_spec(Spec& spec, V& v) {
  std::visit([&](auto& m) { describe(m, v); }, spec);
}

// ---- HTTP routers ----------------------------------------------------------------------------

template <class V>
void describe(Domain& d, V& v) {
  v.field("main", d.main, {.flags = kAlways | kRequired});
  v.field("sans", d.sans);
}

template <bool Tcp>
struct DescribeRouterTls {
  template <class V>
  void operator()(RouterTls& t, V& v) const {
    v.field("certResolver", t.cert_resolver);
    v.field("options", t.options, {.ref = Ref::tls_options});
    v.items("domains", t.domains);
    if constexpr (Tcp) v.field("passthrough", t.passthrough);
  }
};

template <class V>
void describe(HttpRouter& r, V& v) {
  v.field("rule", r.rule, {.flags = kAlways});
  v.field("entryPoints", r.entry_points);
  v.field("middlewares", r.middlewares, {.ref = Ref::http_middleware});
  v.field("service", r.service, {.flags = kAlways, .ref = Ref::http_service});
  v.field("priority", r.priority);
  v.fixed("ruleSyntax", "v3");
  v.object("tls", r.tls, DescribeRouterTls<false>{});
  v.unsupported("observability");
}

// ---- HTTP services ---------------------------------------------------------------------------

template <class V>
void describe(HttpServer& s, V& v) {
  v.field("url", s.url, {.flags = kAlways | kRequired});
  v.field("weight", s.weight, {.range = kWeight});
  v.unsupported("preservePath");
}

template <class V>
void describe(HealthCheck& h, V& v) {
  v.field("path", h.path);
  v.field("method", h.method);
  v.field("hostname", h.hostname);
  v.field("port", h.port, {.range = kPortOrZero});
  v.field("status", h.status, {.range = kHttpStatus});
  v.field("interval", h.interval);
  v.field("timeout", h.timeout);
  v.field("headers", h.headers);
  v.unsupported("scheme");
  v.unsupported("mode");
  v.unsupported("followRedirects");
}

template <class V>
void describe(StickyCookie& c, V& v) {
  v.field("name", c.name);
  v.field("secure", c.secure);
  v.field("httpOnly", c.http_only);
  v.field("sameSite", c.same_site);
  v.field("maxAge", c.max_age);
  v.unsupported("path");
  v.unsupported("domain");
}

template <class V>
void describe(LoadBalancer& lb, V& v) {
  v.items("servers", lb.servers, {.flags = kAlways | kNoLabel});
  v.field("passHostHeader", lb.pass_host_header);
  v.object("healthCheck", lb.health_check);
  v.group("sticky", [&](auto& g) { g.object("cookie", lb.sticky_cookie); });
  v.field("serversTransport", lb.servers_transport, {.ref = Ref::servers_transport});
  v.group("responseForwarding", [&](auto& g) { g.field("flushInterval", lb.flush_interval); });
  v.unsupported("strategy");
}

// ---- services of services: weighted, mirroring, failover (issue 13 item 4) ----

template <class V>
void describe(ServiceHealthCheck&, V&) {}  // `healthCheck: {}`: no fields

template <class V>
void describe(WeightedRef& r, V& v) {
  v.field("name", r.name, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.field("weight", r.weight, {.range = kWeight});
}

template <class V>
void describe(WeightedService& w, V& v) {
  v.items("services", w.services, {.flags = kAlways});
  v.group("sticky", [&](auto& g) { g.object("cookie", w.sticky_cookie); });
  v.object("healthCheck", w.health_check);
}

template <class V>
void describe(MirrorRef& m, V& v) {
  v.field("name", m.name, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.field("percent", m.percent, {.range = {0, 100, "percent"}});
}

template <class V>
void describe(MirroringService& m, V& v) {
  v.field("service", m.service, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.field("mirrorBody", m.mirror_body);
  v.field("maxBodySize", m.max_body_size, {.range = kSizeOrUnlimited});
  v.items("mirrors", m.mirrors);
  v.object("healthCheck", m.health_check);
}

template <class V>
void describe(FailoverService& f, V& v) {
  v.field("service", f.service, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.field("fallback", f.fallback, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.object("healthCheck", f.health_check);
  v.unsupported("errors", " (failover on response status)");
}

// ---- end services of services ----

template <class V>
void describe(HttpService& s, V& v) {
  v.object("loadBalancer", s.load_balancer);
  v.object("weighted", s.weighted);
  v.object("mirroring", s.mirroring);
  v.object("failover", s.failover);
  v.unsupported("highestRandomWeight");
  v.unsupported("middlewares", " (middlewares of a service)");
  v.invariant([&]() -> std::string {
    if (s.types() > 1)
      return "a service has exactly one of loadBalancer, weighted, mirroring or failover";
    if (s.types() == 0) return "a service needs loadBalancer, weighted, mirroring or failover";
    return {};
  });
}

template <class V>
void describe(ServersTransport& t, V& v) {
  v.field("serverName", t.server_name);
  v.field("insecureSkipVerify", t.insecure_skip_verify);
  v.field("rootCAs", t.root_cas);
  v.field("maxIdleConnsPerHost", t.max_idle_conns_per_host);
  v.group("forwardingTimeouts", [&](auto& g) {
    g.field("dialTimeout", t.dial_timeout);
    g.field("responseHeaderTimeout", t.response_header_timeout);
    g.field("idleConnTimeout", t.idle_conn_timeout);
    g.unsupported("readIdleTimeout");
    g.unsupported("pingTimeout");
  });
  v.unsupported("certificates");
  v.unsupported("disableHTTP2");
  v.unsupported("peerCertURI");
  v.unsupported("spiffe");
}

// ---- Middlewares (the types of MiddlewareSpec) ------------------------------------------------

template <class V>
void describe(HeadersMw& h, V& v) {
  v.field("customRequestHeaders", h.custom_request_headers);
  v.field("customResponseHeaders", h.custom_response_headers);
  v.field("stsSeconds", h.sts_seconds, {.range = kSize});
  v.field("stsIncludeSubdomains", h.sts_include_subdomains);
  v.field("stsPreload", h.sts_preload);
  v.field("forceSTSHeader", h.force_sts_header);
  v.field("frameDeny", h.frame_deny);
  v.field("customFrameOptionsValue", h.custom_frame_options_value);
  v.field("contentTypeNosniff", h.content_type_nosniff);
  v.field("browserXssFilter", h.browser_xss_filter);
  v.field("customBrowserXSSValue", h.custom_browser_xss_value);
  v.field("referrerPolicy", h.referrer_policy);
  v.field("contentSecurityPolicy", h.content_security_policy);
  v.field("permissionsPolicy", h.permissions_policy);
  v.field("contentSecurityPolicyReportOnly", h.content_security_policy_report_only);
  v.field("publicKey", h.public_key);
  v.field("accessControlAllowCredentials", h.access_control_allow_credentials);
  v.field("accessControlAllowHeaders", h.access_control_allow_headers);
  v.field("accessControlAllowMethods", h.access_control_allow_methods);
  v.field("accessControlAllowOriginList", h.access_control_allow_origin_list);
  v.field("accessControlAllowOriginListRegex", h.access_control_allow_origin_list_regex);
  v.field("accessControlExposeHeaders", h.access_control_expose_headers);
  v.field("accessControlMaxAge", h.access_control_max_age, {.range = kSize});
  v.field("addVaryHeader", h.add_vary_header);
  v.field("allowedHosts", h.allowed_hosts);
  v.field("hostsProxyHeaders", h.hosts_proxy_headers);
  v.field("sslProxyHeaders", h.ssl_proxy_headers);
  v.field("isDevelopment", h.is_development);
  // Traefik v3 decodes these and ignores them; portier does too, and warns (the merge,
  // config/dynamic_merge.cpp).
  v.field("featurePolicy", h.feature_policy);
  v.field("sslRedirect", h.ssl_redirect);
  v.field("sslTemporaryRedirect", h.ssl_temporary_redirect);
  v.field("sslHost", h.ssl_host);
  v.field("sslForceHost", h.ssl_force_host);
}

template <class V>
void describe(BufferingMw& b, V& v) {
  v.field("maxRequestBodyBytes", b.max_request_body_bytes, {.range = kSize});
  v.field("memRequestBodyBytes", b.mem_request_body_bytes, {.range = kSize});
  v.field("maxResponseBodyBytes", b.max_response_body_bytes, {.range = kSize});
  v.field("memResponseBodyBytes", b.mem_response_body_bytes, {.range = kSize});
  v.unsupported("retryExpression");
}

template <class V>
void describe(CompressMw& c, V& v) {
  v.field("excludedContentTypes", c.excluded_content_types);
  v.field("includedContentTypes", c.included_content_types);
  v.field("minResponseBodyBytes", c.min_response_body_bytes, {.range = kSize});
  v.field("encodings", c.encodings);
  v.field("defaultEncoding", c.default_encoding);
}

template <class V>
void describe(RetryMw& r, V& v) {
  static constexpr IntRange kAttempts{1, 1000, "number of attempts (1-1000)"};
  static constexpr IntRange kSizeOrUnlimited{-1, INT64_MAX, "size (-1 = unlimited)"};
  v.field("attempts", r.attempts, {.range = kAttempts, .flags = kAlways | kRequired});
  v.field("initialInterval", r.initial_interval);
  v.field("timeout", r.timeout);
  v.field("maxRequestBodyBytes", r.max_request_body_bytes, {.range = kSizeOrUnlimited});
  v.field("status", r.status);
  v.field("disableRetryOnNetworkError", r.disable_retry_on_network_error);
  v.field("retryNonIdempotentMethod", r.retry_non_idempotent_method);
}

template <class V>
void describe(CircuitBreakerMw& c, V& v) {
  static constexpr IntRange kErrorStatus{100, 599, "status code"};
  v.field("expression", c.expression, {.flags = kAlways | kRequired});
  v.field("checkPeriod", c.check_period);
  v.field("fallbackDuration", c.fallback_duration);
  v.field("recoveryDuration", c.recovery_duration);
  v.field("responseCode", c.response_code, {.range = kErrorStatus});
}

template <class V>
void describe(ErrorsMw& e, V& v) {
  v.field("status", e.status, {.flags = kAlways | kRequired});
  v.field("statusRewrites", e.status_rewrites);
  v.field("service", e.service, {.flags = kAlways | kRequired, .ref = Ref::http_service});
  v.field("query", e.query);
  v.field("errorRequestHeaders", e.error_request_headers);
  // The ranges' and codes' forms are checked when the middleware is built.
  v.invariant([&]() -> std::string {
    return v.has("errorRequestHeaders") && e.error_request_headers.empty()
               ? "errorRequestHeaders: an empty list (no header) is not supported; name the headers"
               : "";
  });
}

template <class V>
void describe(ContentTypeMw& c, V& v) {
  v.field("autoDetect", c.auto_detect);
}

template <class V>
void describe(GrpcWebMw& g, V& v) {
  v.field("allowOrigins", g.allow_origins);
}

template <class V>
void describe(RedirectSchemeMw& r, V& v) {
  v.field("scheme", r.scheme, {.flags = kAlways});
  v.field("port", r.port);
  v.field("permanent", r.permanent);
}

template <class V>
void describe(RedirectRegexMw& r, V& v) {
  v.field("regex", r.regex, {.flags = kAlways});
  v.field("replacement", r.replacement, {.flags = kAlways});
  v.field("permanent", r.permanent);
}

template <class V>
void describe(ChainMw& c, V& v) {
  v.field("middlewares", c.middlewares, {.flags = kAlways, .ref = Ref::http_middleware});
}

template <class V>
void describe(StripPrefixMw& s, V& v) {
  v.field("prefixes", s.prefixes, {.flags = kAlways});
  v.unsupported("forceSlash");
}

template <class V>
void describe(AddPrefixMw& a, V& v) {
  v.field("prefix", a.prefix, {.flags = kAlways});
}

template <class V>
void describe(ReplacePathMw& r, V& v) {
  v.field("path", r.path, {.flags = kAlways});
}

template <class V>
void describe(ReplacePathRegexMw& r, V& v) {
  v.field("regex", r.regex, {.flags = kAlways});
  v.field("replacement", r.replacement, {.flags = kAlways});
}

template <class V>
void describe(StripPrefixRegexMw& s, V& v) {
  v.field("regex", s.regex, {.flags = kAlways});
}

template <class V>
void describe(IpStrategy& s, V& v) {
  v.field("depth", s.depth, {.range = kCount});
  v.field("excludedIPs", s.excluded_ips);
  v.field("ipv6Subnet", s.ipv6_subnet, {.range = {1, 128, "ipv6Subnet"}});
}

template <class V>
void describe(SourceCriterion& c, V& v) {
  v.object("ipStrategy", c.ip_strategy);
  v.field("requestHeaderName", c.request_header_name);
  v.field("requestHost", c.request_host);
}

template <class V>
void describe(BasicAuthMw& b, V& v) {
  v.field("users", b.users);
  v.field("usersFile", b.users_file);
  v.field("realm", b.realm);
  v.field("removeHeader", b.remove_header);
  v.field("headerField", b.header_field);
}

template <class V>
void describe(IpAllowListMw& a, V& v) {
  v.field("sourceRange", a.source_range, {.flags = kAlways});
  v.object("ipStrategy", a.ip_strategy);
  v.field("rejectStatusCode", a.reject_status_code, {.range = kHttpStatus});
}

template <class V>
void describe(IpWhiteListMw& a, V& v) {
  v.field("sourceRange", a.source_range, {.flags = kAlways});
  v.object("ipStrategy", a.ip_strategy);
}

template <class V>
void describe(RateLimitMw& r, V& v) {
  v.field("average", r.average, {.range = kSize});
  v.field("period", r.period);
  v.field("burst", r.burst, {.range = kSize});
  v.object("sourceCriterion", r.source_criterion);
  v.unsupported("redis");
}

template <class V>
void describe(InFlightReqMw& f, V& v) {
  v.field("amount", f.amount, {.range = kSize});
  v.object("sourceCriterion", f.source_criterion);
}

// ---- passTLSClientCert ----

template <bool Subject>
struct DescribeClientCertDn {
  template <class V>
  void operator()(ClientCertDn& d, V& v) const {
    v.field("country", d.country);
    v.field("province", d.province);
    v.field("locality", d.locality);
    v.field("organization", d.organization);
    if constexpr (Subject) v.field("organizationalUnit", d.organizational_unit);
    v.field("commonName", d.common_name);
    v.field("serialNumber", d.serial_number);
    v.field("domainComponent", d.domain_component);
  }
};

template <class V>
void describe(ClientCertInfo& i, V& v) {
  v.field("notAfter", i.not_after);
  v.field("notBefore", i.not_before);
  v.field("sans", i.sans);
  v.field("serialNumber", i.serial_number);
  v.object("subject", i.subject, DescribeClientCertDn<true>{});
  v.object("issuer", i.issuer, DescribeClientCertDn<false>{});
}

template <class V>
void describe(PassTlsClientCertMw& p, V& v) {
  v.field("pem", p.pem);
  v.object("info", p.info);
}

// ---- digestAuth (issue 15) ----

template <class V>
void describe(DigestAuthMw& d, V& v) {
  v.field("users", d.users);
  v.field("usersFile", d.users_file);
  v.field("realm", d.realm);
  v.field("removeHeader", d.remove_header);
  v.field("headerField", d.header_field);
}

// ---- end digestAuth ----

// ---- forwardAuth (issue 15) ----

template <class V>
void describe(ForwardAuthTls& t, V& v) {
  v.field("ca", t.ca);
  v.field("cert", t.cert);
  v.field("key", t.key);
  v.field("insecureSkipVerify", t.insecure_skip_verify);
  v.unsupported("caOptional", " (deprecated in Traefik: client authentication is a server option)");
  v.invariant([&]() -> std::string {
    return t.cert.empty() != t.key.empty() ? "cert and key go together" : "";
  });
}

template <class V>
void describe(ForwardAuthMw& f, V& v) {
  v.field("address", f.address, {.flags = kAlways | kRequired});
  v.object("tls", f.tls);
  v.field("trustForwardHeader", f.trust_forward_header);
  v.field("authResponseHeaders", f.auth_response_headers);
  v.field("authResponseHeadersRegex", f.auth_response_headers_regex);
  v.field("authRequestHeaders", f.auth_request_headers);
  v.field("addAuthCookiesToResponse", f.add_auth_cookies_to_response);
  v.field("maxResponseBodySize", f.max_response_body_size, {.range = kSizeOrUnlimited});
  v.field("preserveLocationHeader", f.preserve_location_header);
  v.field("preserveRequestMethod", f.preserve_request_method);
  v.field("authSigninURL", f.auth_signin_url);
  v.field("forwardBody", f.forward_body);
  v.field("maxBodySize", f.max_body_size, {.range = kSizeOrUnlimited});
  v.field("headerField", f.header_field);
  // The address's form is checked when the middleware is built (make_forward_auth_middleware).
}

// ---- end forwardAuth ----

// ---- TCP / UDP -------------------------------------------------------------------------------

// tls.certificates entries (WithStores) and the client certificates of a TCP serversTransport.
template <bool WithStores>
struct DescribeCertificate {
  template <class V>
  void operator()(TlsCertificate& c, V& v) const {
    v.field("certFile", c.cert_file, {.flags = kAlways | kRequired});
    v.field("keyFile", c.key_file, {.flags = kAlways | kRequired});
    if constexpr (WithStores) v.field("stores", c.stores);
  }
};

template <class V>
void describe(TcpRouter& r, V& v) {
  v.field("rule", r.rule, {.flags = kAlways});
  v.field("entryPoints", r.entry_points);
  v.field("middlewares", r.middlewares, {.ref = Ref::tcp_middleware});
  v.field("service", r.service, {.flags = kAlways, .ref = Ref::tcp_service});
  v.field("priority", r.priority);
  v.fixed("ruleSyntax", "v3");
  v.object("tls", r.tls, DescribeRouterTls<true>{});
}

// ---- TCP middlewares (the types of TcpMiddlewareSpec) ----

template <class V>
void describe(TcpIpAllowListMw& a, V& v) {
  v.field("sourceRange", a.source_range, {.flags = kAlways});
}

template <class V>
void describe(TcpIpWhiteListMw& a, V& v) {
  v.field("sourceRange", a.source_range, {.flags = kAlways});
}

template <class V>
void describe(TcpInFlightConnMw& f, V& v) {
  v.field("amount", f.amount, {.range = kSize});
}

template <class V>
void describe(TcpServer& s, V& v) {
  v.field("address", s.address, {.flags = kAlways | kRequired});
  v.field("weight", s.weight, {.range = kWeight});
  v.field("tls", s.tls);
}

template <class V>
void describe(TcpProxyProtocol& p, V& v) {
  v.field("version", p.version, {.range = {1, 2, "PROXY protocol version"}, .flags = kAlways});
}

template <class V>
void describe(TcpService& s, V& v) {
  v.group("loadBalancer", [&](auto& g) {
    g.items("servers", s.servers, {.flags = kAlways | kNoLabel});
    g.field("serversTransport", s.servers_transport, {.ref = Ref::tcp_servers_transport});
    g.object("proxyProtocol", s.proxy_protocol);
    g.field("terminationDelay", s.termination_delay);
    g.unsupported("healthCheck", " (TCP health checks)");
  });
  v.unsupported("weighted");
  v.invariant([&]() -> std::string {
    return v.has("loadBalancer") ? "" : "a TCP service needs loadBalancer";
  });
}

template <class V>
void describe(TcpClientTls& t, V& v) {
  v.field("serverName", t.server_name);
  v.field("insecureSkipVerify", t.insecure_skip_verify);
  v.field("rootCAs", t.root_cas);
  v.items("certificates", t.certificates, {}, DescribeCertificate<false>{});
  v.unsupported("peerCertURI");
  v.unsupported("peerCertSANs");
  v.unsupported("spiffe");
}

template <class V>
void describe(TcpServersTransport& t, V& v) {
  v.field("dialTimeout", t.dial_timeout);
  v.field("dialKeepAlive", t.dial_keep_alive, {.flags = kNegative});
  v.field("terminationDelay", t.termination_delay, {.flags = kNegative});
  v.object("proxyProtocol", t.proxy_protocol);
  v.object("tls", t.tls);
}

template <class V>
void describe(UdpRouter& r, V& v) {
  v.field("entryPoints", r.entry_points);
  v.field("service", r.service, {.flags = kAlways, .ref = Ref::udp_service});
}

template <class V>
void describe(UdpServer& s, V& v) {
  v.field("address", s.address, {.flags = kAlways | kRequired});
  v.field("weight", s.weight, {.range = kWeight});
}

template <class V>
void describe(UdpService& s, V& v) {
  v.group("loadBalancer", [&](auto& g) { g.items("servers", s.servers, {.flags = kAlways | kNoLabel}); });
  v.unsupported("weighted");
  v.invariant([&]() -> std::string {
    return v.has("loadBalancer") ? "" : "a UDP service needs loadBalancer";
  });
}

// ---- TLS -------------------------------------------------------------------------------------

// Traefik's clientAuthType values (Go's tls.ClientAuthType names).
inline const std::vector<std::string_view> kClientAuthTypes = {
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert"};

inline const std::vector<std::string_view> kTlsVersions = {"VersionTLS10", "VersionTLS11",
                                                           "VersionTLS12", "VersionTLS13"};

template <class V>
void describe(TlsOptions& o, V& v) {
  v.field("minVersion", o.min_version, {.choices = &kTlsVersions});
  v.field("maxVersion", o.max_version, {.choices = &kTlsVersions});
  v.field("cipherSuites", o.cipher_suites);
  v.field("curvePreferences", o.curve_preferences);
  v.field("alpnProtocols", o.alpn_protocols);
  v.field("sniStrict", o.sni_strict);
  v.group("clientAuth", [&](auto& g) {
    g.field("caFiles", o.client_ca_files);
    g.field("clientAuthType", o.client_auth_type, {.choices = &kClientAuthTypes});
  });
  v.unsupported("preferServerCipherSuites");
  v.unsupported("disableSessionTickets");
}

template <class V>
void describe(TlsStore& s, V& v) {
  v.object("defaultCertificate", s.default_certificate, DescribeCertificate<false>{});
  v.unsupported("defaultGeneratedCert");
}

}  // namespace portier::config
