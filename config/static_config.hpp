#pragma once
// portier.yml: Traefik v3's static configuration (the supported subset) plus the portier
// blocks `infra`, `diagnostics`, `state`, `workers`. Loaded by static_loader.hpp.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::config {

struct Infra {
  // An `infra:` block was given (or an infra command-line flag): only then is it expanded into
  // entrypoints and a resolver (infra_expansion.hpp). A plain traefik.yml gets no extra ports.
  bool enabled = false;
  std::string public_ipv4;
  std::string public_ipv6;
  std::string base_domain;
  std::string cert_email;
  std::string cf_dns_api_token;       // secret: never logged
  std::string cf_dns_api_token_file;  // read at load time into cf_dns_api_token
  std::vector<uint16_t> tcp_ports;
  std::vector<uint16_t> udp_ports;
  uint16_t http_port = 80;
  uint16_t https_port = 443;
  uint16_t dynamic_tcp_first = 0;  // 0 = no dynamic range
  uint16_t dynamic_tcp_last = 0;
};

struct Redirection {
  std::string to;  // target entrypoint name
  std::string scheme = "https";
  bool permanent = true;
  int priority = 0;
};

struct EntryPoint {
  enum class Protocol { tcp, udp };
  std::string name;
  std::string address;  // as written: "127.0.0.1:8080", ":80", "[::1]:443", ":53/udp"
  // Addresses to bind, each with `port`. "" = all addresses. Entrypoints from `infra`
  // tcp_ports/udp_ports carry every configured public address (IPv4 and IPv6).
  std::vector<std::string> hosts;
  uint16_t port = 0;
  Protocol protocol = Protocol::tcp;
  std::optional<Redirection> redirection;  // http.redirections.entryPoint
  bool tls = false;  // http.tls present: every router on it is a TLS router
  std::string tls_cert_resolver;
  // http.tls.options: the tls.options of this entrypoint's HTTP routers that have no `tls` of
  // their own (Traefik's entrypoint model; a name without "@" is in the router's provider).
  std::string tls_options;
  // http.tls.domains: the certificates tls_cert_resolver obtains for those routers (one per
  // entry, main + sans) instead of one for their Host names.
  std::vector<Domain> tls_domains;
  std::vector<std::string> middlewares;  // http.middlewares
  std::chrono::milliseconds read_timeout{60000};
  std::chrono::milliseconds write_timeout{0};
  std::chrono::milliseconds idle_timeout{180000};
  std::chrono::milliseconds grace_timeout{10000};
  // transport.lifeCycle.requestAcceptGraceTimeout: on shutdown, requests are still accepted
  // this long (ping answers terminatingStatusCode) before graceTimeOut starts.
  std::chrono::milliseconds request_accept_grace{0};
  // transport.keepAliveMaxRequests / keepAliveMaxTime (0 = no limit): the response to a
  // connection's N-th request, or to one that starts after the connection is that old, closes
  // it (HTTP/1.1 `Connection: close`; HTTP/2 a graceful GOAWAY).
  int keep_alive_max_requests = 0;
  std::chrono::milliseconds keep_alive_max_time{0};
  // asDefault: routers without entryPoints attach to the asDefault entrypoints (to every
  // non-UDP one when none is marked).
  bool as_default = false;
  // http.sanitizePath (Traefik's default true): the path cleaned as Go's URL.JoinPath does
  // ("//", "/./", "/../") before routing and forwarding.
  bool sanitize_path = true;
  // http.encodeQuerySemicolons: ';' in the query becomes "%3B"; otherwise '&' (Go's
  // AllowQuerySemicolons and Traefik's proxy director).
  bool encode_query_semicolons = false;
  // http.maxHeaderBytes: the request head (line and fields) may be this + 4096 bytes (Go's
  // slack) before 431; unset = portier's 64 KiB head limit. HTTP/2: the header list size.
  std::optional<size_t> max_header_bytes;
  std::chrono::milliseconds udp_timeout{3000};
  // portier's keys (entryPoints.NAME.portier), HTTP entrypoints only. From accept (or a
  // keep-alive request's first byte) to a complete request head; HTTP/2: to the first HEADERS.
  std::chrono::milliseconds header_timeout{10000};
  int max_connections = 0;  // open connections at most; past it, accepting stops. 0 = no cap
  // allowACMEByPass: routers get /.well-known/acme-challenge/ before the HTTP-01 answer
  // (http.redirections skip that path), and TCP routers may take acme-tls/1 ClientHellos.
  bool allow_acme_bypass = false;
  // reusePort: a UDP entrypoint's socket is bound with SO_REUSEPORT (TCP listeners always are).
  bool reuse_port = false;
  // http3: HTTP/3 over QUIC on a UDP socket at the entrypoint's address, serving its TLS side;
  // advertised_port is the port Alt-Svc names (0: the entrypoint's port).
  struct Http3 {
    uint16_t advertised_port = 0;
  };
  std::optional<Http3> http3;

  std::vector<std::string> trusted_ips;  // forwardedHeaders.trustedIPs (CIDRs)
  bool forwarded_insecure = false;       // forwardedHeaders.insecure
  // proxyProtocol: connections may start with a PROXY v1/v2 header, whose client address is
  // used when the sender is in trustedIPs (any sender when insecure).
  struct ProxyProtocol {
    std::vector<std::string> trusted_ips;  // addresses and CIDRs; not empty unless insecure
    bool insecure = false;
  };
  std::optional<ProxyProtocol> proxy_protocol;
  // http2.maxConcurrentStreams: SETTINGS_MAX_CONCURRENT_STREAMS of HTTP/2 connections; unset =
  // portier's default (Http2Settings).
  std::optional<uint32_t> http2_max_concurrent_streams;
  bool from_infra = false;

  // Entrypoints named tcp-* carry TCP routers only; the other TCP ones serve HTTP too.
  bool tcp_only() const { return protocol == Protocol::tcp && name.rfind("tcp-", 0) == 0; }
  bool serves_http() const { return protocol == Protocol::tcp && !tcp_only(); }
};

struct DnsChallenge {
  std::string provider;  // "cloudflare"
  std::vector<std::string> resolvers;
  std::chrono::milliseconds delay_before_checks{0};
  bool disable_checks = false;
  bool disable_ans_checks = false;
  bool require_all_rns = false;
  std::chrono::milliseconds propagation_timeout{120000};
};

// httpChallenge: HTTP-01 answered on `entry_point` (cleartext side) under
// /.well-known/acme-challenge/, `delay` after the token is set and before the CA is told.
struct HttpChallenge {
  std::string entry_point;
  std::chrono::milliseconds delay{0};
};

// tlsChallenge: TLS-ALPN-01 (RFC 8737) answered in the ClientHello, on the TLS side of every
// HTTP entrypoint.
struct TlsChallenge {
  std::chrono::milliseconds delay{0};
};

// eab: RFC 8555 §7.3.4 external account binding (kid, base64url HMAC key).
struct ExternalAccountBinding {
  std::string kid;
  std::string hmac_encoded;
};

struct CertResolver {
  std::string name;
  std::string email;
  std::string storage;  // acme.json path; "" = {state}/acme.json
  std::string ca_server = "https://acme-v02.api.letsencrypt.org/directory";
  std::vector<std::string> ca_certificates;
  std::string key_type = "EC256";
  std::optional<DnsChallenge> dns_challenge;
  std::optional<HttpChallenge> http_challenge;
  std::optional<TlsChallenge> tls_challenge;
  std::optional<ExternalAccountBinding> eab;
  std::string preferred_chain;    // CN of the top issuer of the chain to prefer; "" = CA's default
  int certificates_duration = 2160;  // hours; picks the renewal window (Traefik's table)
};

// providers.docker.tls: client TLS for tcp:// endpoints (dockerd --tlsverify): PEM file paths
// (Traefik also takes the PEM text itself; portier does not).
struct DockerTls {
  std::string ca;    // "" = the system roots
  std::string cert;  // client certificate; set together with key
  std::string key;
  bool insecure_skip_verify = false;
};

struct DockerProvider {
  std::vector<std::string> endpoints;  // globs allowed: unix:///var/run/rediacc/docker-*.sock
  bool exposed_by_default = true;
  std::string default_rule = "Host(`{{ normalize .Name }}`)";
  std::string network;
  std::chrono::milliseconds grace_period{60000};
  std::string constraints;  // Label/LabelRegex expression (config::RuleKind::constraint); "" = all
  bool use_bind_port_ip = false;
  bool allow_empty_services = false;
  bool watch = true;  // false: each daemon's containers are read once, no events followed
  // Deadline of each Docker API call but the event stream; unset = portier's default (10 s),
  // 0 = none (Traefik's meaning).
  std::optional<std::chrono::milliseconds> http_client_timeout;
  std::optional<DockerTls> tls;  // only with tcp:// endpoints
};

struct FileProvider {
  std::string filename;
  std::string directory;
  bool watch = true;
};

// `log`: portier's own log lines (stderr unless filePath is set; reopened on SIGUSR1).
struct LogConfig {
  std::string level = "info";
  std::string format = "text";  // text ("common" in Traefik's words) or json
  std::string file_path;        // "" = stderr
};

// `accessLog` (Traefik's keys and semantics, pkg/observability/types/logs.go).
struct AccessLogConfig {
  bool enabled = false;
  std::string file_path;  // "" = stdout
  enum class Format { common, generic_clf, json } format = Format::common;
  // Lines the writer may hold queued before further lines are dropped (and counted); 0 = the
  // default bound. Traefik blocks the request when its channel is full; portier never does.
  int64_t buffering_size = 0;
  // filters: a line is kept when any filter given matches (none given: every line).
  std::vector<std::pair<int, int>> status_codes;  // inclusive ranges
  bool retry_attempts = false;
  std::chrono::nanoseconds min_duration{0};
  // fields: keep/drop per field name (lowercased, as Traefik compares them).
  bool fields_keep_default = true;
  std::map<std::string, bool> field_names;
  // fields.headers: keep/drop/redact per header (canonical MIME form, "User-Agent").
  enum class HeaderMode { keep, drop, redact };
  HeaderMode headers_default = HeaderMode::drop;
  std::map<std::string, HeaderMode> header_names;
  bool keep_query = true;     // fields.queryParameters.defaultMode
  bool add_internals = false;  // log ping / metrics requests too
};

// `metrics.prometheus` (pkg/observability/types/metrics.go defaults).
struct PrometheusConfig {
  bool enabled = false;
  std::vector<double> buckets{0.1, 0.3, 1.2, 5.0};
  bool entry_points = true;  // addEntryPointsLabels
  bool routers = false;      // addRoutersLabels
  bool services = true;      // addServicesLabels
  std::string entry_point = "traefik";
  bool add_internals = false;  // metrics.addInternals
  bool manual_routing = false;  // no /metrics on entry_point: routers name prometheus@internal
  // headerLabels: label name → request header whose value it takes, on the entrypoint, router
  // and service requests_total series (by label name).
  std::map<std::string, std::string> header_labels;
};

// `ping` (pkg/ping/ping.go defaults).
struct PingConfig {
  bool enabled = false;
  std::string entry_point = "traefik";
  int terminating_status = 503;
  bool manual_routing = false;  // no /ping on entry_point: routers name ping@internal
};

// `api` (Traefik's pkg/config/static API): the JSON API and the dashboard, served on the
// diagnostics address, by routers whose service is api@internal and, with `insecure`, on the
// `traefik` entrypoint. basePath other than "/" and debug are refused when read.
struct ApiConfig {
  bool enabled = false;
  bool dashboard = true;
  bool insecure = false;
  std::string dashboard_name;  // dashboardName: the page's title
};

struct StaticConfig {
  std::string source;  // file it was loaded from
  Infra infra;
  std::string diagnostics_address = "127.0.0.1:7111";
  bool diagnostics_allow_public = false;
  std::string state_directory = "/var/lib/portier";
  int workers = 0;  // 0 = auto (one per core)
  bool ocsp_enabled = true;  // fetch and staple OCSP responses (`ocsp.enabled`)
  std::map<std::string, EntryPoint> entry_points;  // after infra expansion
  std::map<std::string, CertResolver> cert_resolvers;
  std::optional<DockerProvider> docker;
  std::optional<FileProvider> file;
  LogConfig log;
  AccessLogConfig access_log;
  PrometheusConfig prometheus;
  PingConfig ping;
  ApiConfig api;
  // The root `serversTransport`: the transport of HTTP services that name none.
  std::optional<ServersTransport> servers_transport;
  TcpServersTransport tcp_servers_transport;  // `tcpServersTransport`: default@internal
};

}  // namespace portier::config
