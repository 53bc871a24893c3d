#pragma once
// Traefik v3 dynamic configuration: the one model every provider produces and the proxy
// compiles. Plain values, no behaviour; immutable once published in a snapshot.
//
// Names: inside a provider's fragment, names are bare ("myapp"); after merging (see
// dynamic_merge.hpp) every key is qualified "name@provider" and references are resolved.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace portier::config {

using Millis = std::chrono::milliseconds;

// ---- HTTP ----------------------------------------------------------------------------------
struct Domain {
  std::string main;
  std::vector<std::string> sans;
  bool operator==(const Domain&) const = default;
};

struct RouterTls {
  std::string cert_resolver;
  std::string options;  // name of a tls.options entry; "" = default
  std::vector<Domain> domains;
  bool passthrough = false;  // TCP routers only
  bool operator==(const RouterTls&) const = default;
};

struct HttpRouter {
  std::string rule;
  std::vector<std::string> entry_points;  // empty = all HTTP entrypoints
  std::vector<std::string> middlewares;
  std::string service;
  int priority = 0;  // 0 = default (length of rule)
  std::optional<RouterTls> tls;
  std::string provider;
  bool operator==(const HttpRouter&) const = default;
};

struct HttpServer {
  std::string url;  // "http://127.0.11.2:8080"
  int weight = 1;
  bool operator==(const HttpServer&) const = default;
};

struct HealthCheck {
  std::string path = "/";
  std::string method = "GET";
  std::string hostname;
  int port = 0;
  int status = 0;  // 0 = any 2xx/3xx
  Millis interval{30000};
  Millis timeout{5000};
  std::map<std::string, std::string> headers;
  bool operator==(const HealthCheck&) const = default;
};

struct StickyCookie {
  std::string name;  // "" = generated from the service name
  bool secure = false;
  bool http_only = false;
  std::string same_site;
  int max_age = 0;
  bool operator==(const StickyCookie&) const = default;
};

struct LoadBalancer {
  std::vector<HttpServer> servers;
  bool pass_host_header = true;
  std::optional<HealthCheck> health_check;
  std::optional<StickyCookie> sticky_cookie;
  std::string servers_transport;
  Millis flush_interval{100};
  bool operator==(const LoadBalancer&) const = default;
};

// ---- services of services: weighted, mirroring, failover (issue 13 item 4) ----
// Traefik's `healthCheck: {}` on these types: it has no fields. When set, the service follows
// its children's health (and a parent with it set may follow this one's); see
// proxy/service_choice.hpp.
struct ServiceHealthCheck {
  bool operator==(const ServiceHealthCheck&) const = default;
};

struct WeightedRef {
  std::string name;
  int weight = 1;  // 0: never chosen (Traefik ignores it)
  bool operator==(const WeightedRef&) const = default;
};

struct WeightedService {
  std::vector<WeightedRef> services;
  std::optional<StickyCookie> sticky_cookie;  // sticky.cookie: pins a client to a child
  std::optional<ServiceHealthCheck> health_check;
  bool operator==(const WeightedService&) const = default;
};

struct MirrorRef {
  std::string name;
  int percent = 0;  // of the requests copied to this service
  bool operator==(const MirrorRef&) const = default;
};

struct MirroringService {
  std::string service;  // answers the client
  bool mirror_body = true;
  int64_t max_body_size = -1;  // -1 = unlimited; a larger body is not mirrored
  std::vector<MirrorRef> mirrors;
  std::optional<ServiceHealthCheck> health_check;
  bool operator==(const MirroringService&) const = default;
};

struct FailoverService {
  std::string service;   // used while its health is up
  std::string fallback;  // used while it is down
  std::optional<ServiceHealthCheck> health_check;
  bool operator==(const FailoverService&) const = default;
};
// ---- end services of services ----

struct HttpService {
  // Exactly one of these is set.
  std::optional<LoadBalancer> load_balancer;
  std::optional<WeightedService> weighted;
  std::optional<MirroringService> mirroring;
  std::optional<FailoverService> failover;
  std::string provider;
  bool operator==(const HttpService&) const = default;
  // How many of the types above are set (valid: exactly one).
  int types() const { return !!load_balancer + !!weighted + !!mirroring + !!failover; }
};

// The name of the transport of services that name none (HTTP: the static `serversTransport`,
// TCP: the static `tcpServersTransport`); a service may also name it.
inline constexpr const char* kDefaultTransport = "default@internal";

struct ServersTransport {
  std::string server_name;
  bool insecure_skip_verify = false;
  std::vector<std::string> root_cas;
  int max_idle_conns_per_host = 0;  // 0 = default
  Millis dial_timeout{30000};
  Millis response_header_timeout{0};  // 0 = none
  Millis idle_conn_timeout{90000};
  std::string provider;
  bool operator==(const ServersTransport&) const = default;
};

// ---- Middlewares -----------------------------------------------------------------------------
// Each type names itself as Traefik spells it (`type`); MiddlewareSpec below is the table of
// implemented types, and config/dynamic_schema.hpp declares their fields.
struct HeadersMw {
  static constexpr const char* type = "headers";
  std::map<std::string, std::string> custom_request_headers;   // "" value removes
  std::map<std::string, std::string> custom_response_headers;  // "" value removes
  int64_t sts_seconds = 0;
  bool sts_include_subdomains = false;
  bool sts_preload = false;
  bool force_sts_header = false;
  bool frame_deny = false;
  std::string custom_frame_options_value;
  bool content_type_nosniff = false;
  bool browser_xss_filter = false;
  std::string custom_browser_xss_value;
  std::string referrer_policy;
  std::string content_security_policy;
  std::string permissions_policy;
  std::string content_security_policy_report_only;
  std::string public_key;  // Public-Key-Pins (HPKP), TLS requests only
  // CORS: preflights (OPTIONS + Origin + Access-Control-Request-Method) are answered here.
  bool access_control_allow_credentials = false;
  std::vector<std::string> access_control_allow_headers;
  std::vector<std::string> access_control_allow_methods;
  std::vector<std::string> access_control_allow_origin_list;        // "*" matches any origin
  std::vector<std::string> access_control_allow_origin_list_regex;  // RE2, unanchored
  std::vector<std::string> access_control_expose_headers;
  int64_t access_control_max_age = -1;  // seconds; -1: no Access-Control-Max-Age
  bool add_vary_header = false;
  // Host checks and what counts as HTTPS (unrolled/secure's options).
  std::vector<std::string> allowed_hosts;  // empty: any host
  std::vector<std::string> hosts_proxy_headers;
  std::map<std::string, std::string> ssl_proxy_headers;
  bool is_development = false;
  // Deprecated in Traefik v2 and ignored by Traefik v3: decoded and written back, no effect.
  std::string feature_policy;
  bool ssl_redirect = false;
  bool ssl_temporary_redirect = false;
  std::string ssl_host;
  bool ssl_force_host = false;
  bool operator==(const HeadersMw&) const = default;
};

struct BufferingMw {
  static constexpr const char* type = "buffering";
  int64_t max_request_body_bytes = 0;  // 0 = unlimited
  int64_t mem_request_body_bytes = 1048576;
  int64_t max_response_body_bytes = 0;
  int64_t mem_response_body_bytes = 1048576;
  bool operator==(const BufferingMw&) const = default;
};

// ---- compress (issue 16) ----
struct CompressMw {
  static constexpr const char* type = "compress";
  std::vector<std::string> excluded_content_types;
  std::vector<std::string> included_content_types;
  int64_t min_response_body_bytes = 1024;
  std::vector<std::string> encodings{"gzip", "br", "zstd"};  // order of preference
  std::string default_encoding;
  bool operator==(const CompressMw&) const = default;
};

// ---- retry (issue 16) ----
struct RetryMw {
  static constexpr const char* type = "retry";
  int64_t attempts = 0;  // required, > 0
  Millis initial_interval{0};
  Millis timeout{0};  // 0 = no bound on the time spent retrying
  int64_t max_request_body_bytes = 2 * 1024 * 1024;
  std::vector<std::string> status;
  bool disable_retry_on_network_error = false;
  bool retry_non_idempotent_method = false;
  bool operator==(const RetryMw&) const = default;
};

// ---- circuitBreaker (issue 16) ----
struct CircuitBreakerMw {
  static constexpr const char* type = "circuitBreaker";
  std::string expression;
  Millis check_period{100};
  Millis fallback_duration{10000};
  Millis recovery_duration{10000};
  int64_t response_code = 503;
  bool operator==(const CircuitBreakerMw&) const = default;
};

// ---- errors, contentType (issue 16) ----
struct ErrorsMw {
  static constexpr const char* type = "errors";
  std::vector<std::string> status;  // "500-599", "404,418": the codes whose answer is replaced
  std::map<std::string, std::string> status_rewrites;  // code or range -> the code sent instead
  std::string service;  // serves the page
  std::string query;    // the page's path and query: {status}, {originalStatus}, {url}
  std::vector<std::string> error_request_headers;  // sent to the service; empty: all of them
  bool operator==(const ErrorsMw&) const = default;
};

struct ContentTypeMw {
  static constexpr const char* type = "contentType";
  bool auto_detect = true;  // deprecated in Traefik: false makes the middleware do nothing
  bool operator==(const ContentTypeMw&) const = default;
};

// gRPC-Web from browsers to gRPC over an h2c server (issue 16).
struct GrpcWebMw {
  static constexpr const char* type = "grpcWeb";
  std::vector<std::string> allow_origins;  // "*" or scheme://host[:port]; CORS for gRPC-Web
  bool operator==(const GrpcWebMw&) const = default;
};

struct RedirectSchemeMw {
  static constexpr const char* type = "redirectScheme";
  std::string scheme = "https";
  std::string port;
  bool permanent = false;
  bool operator==(const RedirectSchemeMw&) const = default;
};

struct RedirectRegexMw {
  static constexpr const char* type = "redirectRegex";
  std::string regex;
  std::string replacement;
  bool permanent = false;
  bool operator==(const RedirectRegexMw&) const = default;
};

struct ChainMw {
  static constexpr const char* type = "chain";
  std::vector<std::string> middlewares;
  bool operator==(const ChainMw&) const = default;
};

struct StripPrefixMw {
  static constexpr const char* type = "stripPrefix";
  std::vector<std::string> prefixes;
  bool operator==(const StripPrefixMw&) const = default;
};

struct AddPrefixMw {
  static constexpr const char* type = "addPrefix";
  std::string prefix;
  bool operator==(const AddPrefixMw&) const = default;
};

struct ReplacePathMw {
  static constexpr const char* type = "replacePath";
  std::string path;
  bool operator==(const ReplacePathMw&) const = default;
};

struct ReplacePathRegexMw {
  static constexpr const char* type = "replacePathRegex";
  std::string regex;        // RE2 (Go's syntax), matched against the path as sent
  std::string replacement;  // Go's template: $1, ${1}, ${name}, $$
  bool operator==(const ReplacePathRegexMw&) const = default;
};

struct StripPrefixRegexMw {
  static constexpr const char* type = "stripPrefixRegex";
  std::vector<std::string> regex;  // tried in order; the first whose match starts the path wins
  bool operator==(const StripPrefixRegexMw&) const = default;
};

// How a middleware finds the client's address (Traefik's ipStrategy): the connection's peer
// (neither set), the depth-th X-Forwarded-For entry from the right, or the rightmost entry not in
// excludedIPs. ipv6Subnet (1..128) masks an IPv6 result to its subnet's first address.
struct IpStrategy {
  int depth = 0;
  std::vector<std::string> excluded_ips;
  int ipv6_subnet = 0;  // 0 = unset (a value given must be 1..128)
  bool operator==(const IpStrategy&) const = default;
};

// What requests share a rateLimit / inFlightReq budget; at most one of the three is set.
struct SourceCriterion {
  std::optional<IpStrategy> ip_strategy;
  std::string request_header_name;
  bool request_host = false;
  bool operator==(const SourceCriterion&) const = default;
};

struct BasicAuthMw {
  static constexpr const char* type = "basicAuth";
  std::vector<std::string> users;  // "name:hash" as htpasswd writes them
  std::string users_file;          // htpasswd file, read with `users`; re-read when it changes
  std::string realm;               // "" = "traefik"
  bool remove_header = false;
  std::string header_field;  // request header that receives the authenticated user name
  bool operator==(const BasicAuthMw&) const = default;
};

struct IpAllowListMw {
  static constexpr const char* type = "ipAllowList";
  std::vector<std::string> source_range;  // addresses and CIDRs, IPv4 and IPv6
  std::optional<IpStrategy> ip_strategy;
  int reject_status_code = 0;  // 0 = 403
  bool operator==(const IpAllowListMw&) const = default;
};

// The deprecated spelling: the same behaviour, no rejectStatusCode (as in Traefik v3).
struct IpWhiteListMw {
  static constexpr const char* type = "ipWhiteList";
  std::vector<std::string> source_range;
  std::optional<IpStrategy> ip_strategy;
  bool operator==(const IpWhiteListMw&) const = default;
};

struct RateLimitMw {
  static constexpr const char* type = "rateLimit";
  int64_t average = 0;  // requests per period; 0 = no limit
  Millis period{1000};
  int64_t burst = 1;
  std::optional<SourceCriterion> source_criterion;  // none = the client's address
  bool operator==(const RateLimitMw&) const = default;
};

struct InFlightReqMw {
  static constexpr const char* type = "inFlightReq";
  int64_t amount = 0;
  std::optional<SourceCriterion> source_criterion;  // none = the request's host
  bool operator==(const InFlightReqMw&) const = default;
};

// ---- passTLSClientCert (client certificates, issue 15 item 8) ----
// Which distinguished-name attributes X-Forwarded-Tls-Client-Cert-Info carries (Traefik's
// TLSClientCertificateSubjectDNInfo; the issuer's form has no organizationalUnit).
struct ClientCertDn {
  bool country = false;
  bool province = false;
  bool locality = false;
  bool organization = false;
  bool organizational_unit = false;  // subject only
  bool common_name = false;
  bool serial_number = false;
  bool domain_component = false;
  bool operator==(const ClientCertDn&) const = default;
};

struct ClientCertInfo {
  bool not_after = false;
  bool not_before = false;
  bool sans = false;
  bool serial_number = false;
  std::optional<ClientCertDn> subject;
  std::optional<ClientCertDn> issuer;
  bool operator==(const ClientCertInfo&) const = default;
};

struct PassTlsClientCertMw {
  static constexpr const char* type = "passTLSClientCert";
  bool pem = false;                     // X-Forwarded-Tls-Client-Cert
  std::optional<ClientCertInfo> info;  // X-Forwarded-Tls-Client-Cert-Info
  bool operator==(const PassTlsClientCertMw&) const = default;
};

// ---- digestAuth (issue 15) ----
struct DigestAuthMw {
  static constexpr const char* type = "digestAuth";
  std::vector<std::string> users;  // "name:realm:hash" as htdigest writes them
  std::string users_file;          // htdigest file, read with `users` when the middleware is built
  std::string realm;               // "" = "traefik"
  bool remove_header = false;
  std::string header_field;  // request header that receives the authenticated user name
  bool operator==(const DigestAuthMw&) const = default;
};
// ---- end digestAuth ----

// ---- forwardAuth (issue 15) ----
// TLS to the authentication server (Traefik's ClientTLS): PEM file paths or inline PEM.
struct ForwardAuthTls {
  std::string ca;    // trusted roots, added to the system's
  std::string cert;  // client certificate chain (with key)
  std::string key;
  bool insecure_skip_verify = false;
  bool operator==(const ForwardAuthTls&) const = default;
};

// Each request is first sent (as GET, no body) to `address`; a 2xx lets it through, any other
// answer goes back to the client as the authentication server sent it.
struct ForwardAuthMw {
  static constexpr const char* type = "forwardAuth";
  std::string address;  // http:// or https:// URL, path and query kept
  std::optional<ForwardAuthTls> tls;
  bool trust_forward_header = false;
  std::vector<std::string> auth_response_headers;  // copied onto the forwarded request
  std::string auth_response_headers_regex;         // RE2, matched against canonical names
  std::vector<std::string> auth_request_headers;   // empty = every request header
  std::vector<std::string> add_auth_cookies_to_response;
  int64_t max_response_body_size = -1;  // -1 = unlimited
  bool preserve_location_header = false;
  bool preserve_request_method = false;
  std::string auth_signin_url;  // a 401 from the server becomes a 302 here
  bool forward_body = false;    // the request body goes to the server too
  int64_t max_body_size = -1;   // with forward_body: a larger body is answered 401; -1 = any
  std::string header_field;     // the answer's field naming the user, for the access log
  bool operator==(const ForwardAuthMw&) const = default;
};
// ---- end forwardAuth ----

using MiddlewareSpec =
    std::variant<HeadersMw, BufferingMw, RedirectSchemeMw, RedirectRegexMw, ChainMw, StripPrefixMw,
                 AddPrefixMw, BasicAuthMw, IpAllowListMw, IpWhiteListMw, RateLimitMw, InFlightReqMw,
                 PassTlsClientCertMw, ForwardAuthMw, DigestAuthMw, ReplacePathMw, ReplacePathRegexMw,
                 StripPrefixRegexMw, CompressMw, RetryMw, CircuitBreakerMw, ErrorsMw,
                 ContentTypeMw, GrpcWebMw>;

struct Middleware {
  MiddlewareSpec spec;
  std::string provider;
  bool operator==(const Middleware&) const = default;
};

// Traefik's type name of a middleware ("headers", "buffering", ...).
const char* middleware_type(const MiddlewareSpec& spec);

// tls.certificates entries; also the client certificates of a TCP serversTransport.
struct TlsCertificate {
  std::string cert_file;  // path or inline PEM (Traefik accepts both)
  std::string key_file;
  std::vector<std::string> stores;
  bool operator==(const TlsCertificate&) const = default;
};

// ---- TCP / UDP -------------------------------------------------------------------------------
// TCP middlewares (issue 15 item 7): checks made once per connection, before the dial.
struct TcpIpAllowListMw {
  static constexpr const char* type = "ipAllowList";
  std::vector<std::string> source_range;  // addresses and CIDRs; other peers are closed at once
  bool operator==(const TcpIpAllowListMw&) const = default;
};

// The deprecated spelling, same behaviour.
struct TcpIpWhiteListMw {
  static constexpr const char* type = "ipWhiteList";
  std::vector<std::string> source_range;
  bool operator==(const TcpIpWhiteListMw&) const = default;
};

struct TcpInFlightConnMw {
  static constexpr const char* type = "inFlightConn";
  int64_t amount = 0;  // connections open at once per client IP, over all workers
  bool operator==(const TcpInFlightConnMw&) const = default;
};

using TcpMiddlewareSpec = std::variant<TcpIpAllowListMw, TcpIpWhiteListMw, TcpInFlightConnMw>;

struct TcpMiddleware {
  TcpMiddlewareSpec spec;
  std::string provider;
  bool operator==(const TcpMiddleware&) const = default;
};

const char* middleware_type(const TcpMiddlewareSpec& spec);

struct TcpRouter {
  std::string rule;  // HostSNI(`*`), HostSNIRegexp, ClientIP, ALPN
  std::vector<std::string> entry_points;
  std::vector<std::string> middlewares;  // names in tcp.middlewares
  std::string service;
  int priority = 0;
  std::optional<RouterTls> tls;
  std::string provider;
  bool operator==(const TcpRouter&) const = default;
};

struct TcpServer {
  std::string address;  // "127.0.11.2:5432"
  int weight = 1;
  bool tls = false;  // TLS to the server, as the service's serversTransport's `tls` says
  bool operator==(const TcpServer&) const = default;
};

// The PROXY protocol header portier writes ahead of the client's bytes (HAProxy's v1 or v2).
struct TcpProxyProtocol {
  int version = 2;
  bool operator==(const TcpProxyProtocol&) const = default;
};

// The client TLS of a TCP serversTransport, used for servers with `tls: true`.
struct TcpClientTls {
  std::string server_name;  // SNI and the name verified; "" needs insecureSkipVerify (Go's rule)
  bool insecure_skip_verify = false;
  std::vector<std::string> root_cas;         // paths or inline PEM; empty = the system roots
  std::vector<TlsCertificate> certificates;  // client certificates (mTLS); the first is sent
  bool operator==(const TcpClientTls&) const = default;
};

// tcp.serversTransports: how portier dials a TCP service's servers.
struct TcpServersTransport {
  Millis dial_timeout{30000};      // 0 = no timeout
  Millis dial_keep_alive{15000};   // TCP keep-alive interval; 0 = 15 s, negative = off
  Millis termination_delay{100};   // after one side's EOF, the other's deadline; negative = none
  std::optional<TcpProxyProtocol> proxy_protocol;
  std::optional<TcpClientTls> tls;
  std::string provider;
  bool operator==(const TcpServersTransport&) const = default;
};

struct TcpService {
  std::vector<TcpServer> servers;
  std::string servers_transport;  // a tcp.serversTransports name; "" = the default transport
  // Deprecated in Traefik v3 (the transport's win when serversTransport is set):
  std::optional<TcpProxyProtocol> proxy_protocol;
  int termination_delay = -1;  // milliseconds; negative = no deadline after one side's EOF
  std::string provider;
  bool operator==(const TcpService&) const = default;
};

struct UdpRouter {
  std::vector<std::string> entry_points;
  std::string service;
  std::string provider;
  bool operator==(const UdpRouter&) const = default;
};

struct UdpServer {
  std::string address;
  int weight = 1;
  bool operator==(const UdpServer&) const = default;
};

struct UdpService {
  std::vector<UdpServer> servers;
  std::string provider;
  bool operator==(const UdpService&) const = default;
};

// ---- TLS -------------------------------------------------------------------------------------
struct TlsOptions {
  std::string min_version = "VersionTLS12";
  std::string max_version;
  std::vector<std::string> cipher_suites;
  std::vector<std::string> curve_preferences;
  std::vector<std::string> alpn_protocols;
  bool sni_strict = false;
  // clientAuth: CA certificates (paths or inline PEM) and Traefik's clientAuthType; "" means
  // RequireAndVerifyClientCert when ca_files is set, else NoClientCert.
  std::vector<std::string> client_ca_files;
  std::string client_auth_type;
  std::string provider;
  bool operator==(const TlsOptions&) const = default;
};

struct TlsStore {
  std::optional<TlsCertificate> default_certificate;
  bool operator==(const TlsStore&) const = default;
};

// ---- The whole ------------------------------------------------------------------------------
struct Dynamic {
  struct Http {
    std::map<std::string, HttpRouter> routers;
    std::map<std::string, HttpService> services;
    std::map<std::string, Middleware> middlewares;
    std::map<std::string, ServersTransport> servers_transports;
    bool operator==(const Http&) const = default;
  } http;
  struct Tcp {
    std::map<std::string, TcpRouter> routers;
    std::map<std::string, TcpService> services;
    std::map<std::string, TcpMiddleware> middlewares;
    std::map<std::string, TcpServersTransport> servers_transports;
    bool operator==(const Tcp&) const = default;
  } tcp;
  struct Udp {
    std::map<std::string, UdpRouter> routers;
    std::map<std::string, UdpService> services;
    bool operator==(const Udp&) const = default;
  } udp;
  struct Tls {
    std::vector<TlsCertificate> certificates;
    std::map<std::string, TlsOptions> options;
    std::map<std::string, TlsStore> stores;
    bool operator==(const Tls&) const = default;
  } tls;
  bool operator==(const Dynamic&) const = default;
};

// A problem found by a provider or by validation, as /routes.json "errors" shows it.
struct ConfigError {
  std::string provider;  // "file", "docker", "internal"
  std::string source;    // "/etc/portier/dynamic.yml" or "container web on unix:///..."
  std::string label;     // YAML path or label key; may be empty
  std::string message;
  int line = 0;  // 1-based line in `source` when known (file provider), else 0
  bool operator==(const ConfigError&) const = default;
};

// What one provider produces: bare names, references as written (see dynamic_merge.hpp).
struct Fragment {
  Dynamic dynamic;
  std::vector<ConfigError> errors;
  // Where each item was defined, keyed "http.routers.NAME" (section path + bare name), e.g. a
  // file path or "container web on unix:///...". Optional: merge falls back to the provider.
  std::map<std::string, std::string> sources;
  bool operator==(const Fragment&) const = default;
};

}  // namespace portier::config
