#include "config/static_loader.hpp"

#include <algorithm>

#include "config/docker_provider_loader.hpp"
#include "config/entry_point_kinds.hpp"
#include "config/infra_expansion.hpp"
#include "config/observability_loader.hpp"
#include "config/transport_loader.hpp"
#include "config/static_validation.hpp"
#include "config/yaml_util.hpp"
#include "core/atomic_file.hpp"
#include "core/log.hpp"

namespace portier::config {

namespace {

using Node = YAML::Node;
using Proto = EntryPoint::Protocol;

const std::string kEntryPoints = "entryPoints";
constexpr const char* kNoHttp3 = "ignored: HTTP/3 is enabled per entrypoint (entryPoints.NAME.http3)";
const std::string kResolvers = "certificatesResolvers";

// Where a value came from, for problems raised after the YAML pass.
struct Origins {
  std::string token_file = "infra.cf_dns_api_token_file";
  std::string diagnostics = "diagnostics.address";
};

// Reads the YAML document into a StaticConfig; records key lines for later checks.
class SectionReader {
 public:
  SectionReader(core::Problems& problems, core::Problems& warnings) : warnings_(warnings), r_(problems) {}

  void read_root(const Node& root);

  StaticConfig config;
  std::map<std::string, int> lines;  // path -> line of its key
  bool docker_off = false;            // providers.docker: false

 private:
  void mark(const std::string& path, const Node& key) { lines.try_emplace(path, line_of(key)); }
  template <class F>
  void each(const Node& map, const std::string& path, F&& f);

  void read_entry_point(const std::string& name, const Node& k, const Node& v);
  bool read_address(const std::string& path, const Node& k, const Node& v, EntryPoint& ep);
  void read_ep_http(const std::string& path, const Node& v, EntryPoint& ep);
  void read_tls_domains(const std::string& path, const Node& k, const Node& v, std::vector<Domain>& out);
  void read_redirection(const std::string& path, const Node& k, const Node& v, EntryPoint& ep);
  void read_ep_transport(const std::string& path, const Node& v, EntryPoint& ep);
  void read_ep_forwarded(const std::string& path, const Node& v, EntryPoint& ep);
  void read_ep_proxy_protocol(const std::string& path, const Node& k, const Node& v, EntryPoint& ep);
  void read_ep_http3(const std::string& path, const Node& k, const Node& v, EntryPoint& ep);
  void read_trusted_ips(const std::string& path, const Node& map, std::vector<std::string>& out);
  void read_ep_portier(const std::string& name, const std::string& path, const Node& k,
                       const Node& v, EntryPoint& ep);
  void read_resolver(const std::string& name, const Node& k, const Node& v);
  void read_acme(const std::string& path, const Node& k, const Node& v, CertResolver& cr);
  void read_acme_extras(const std::string& path, const Node& v, CertResolver& cr);
  void read_dns_challenge(const std::string& path, const Node& k, const Node& v, CertResolver& cr);
  void read_providers(const Node& v);
  void read_docker(const std::string& path, const Node& v);
  void read_file_provider(const std::string& path, const Node& k, const Node& v);
  void read_global(const Node& v);
  void read_diagnostics(const Node& v);
  void read_state(const Node& v);
  void read_ocsp(const Node& v);
  void read_workers(const Node& k, const Node& v);

  void warn(const std::string& path, const std::string& message, const Node& key) {
    warnings_.push_back({path, message, line_of(key)});
  }

  core::Problems& warnings_;
  YamlReader r_;
};

template <class F>
void SectionReader::each(const Node& map, const std::string& path, F&& f) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    if (kv.first.IsScalar()) f(kv.first.Scalar(), kv.first, kv.second);
  }
}

void SectionReader::read_root(const Node& root) {
  if (!root.IsDefined() || root.IsNull()) return;
  if (!root.IsMap()) {
    r_.error("", "the configuration must be a YAML mapping", line_of(root));
    return;
  }
  r_.check_keys(root, "",
                {"infra", "diagnostics", "state", "workers", "entryPoints", "certificatesResolvers",
                 "providers", "log", "accessLog", "global", "ocsp", "ping", "metrics", "api", "experimental",
                 "serversTransport", "tcpServersTransport"},
                {{"tracing", ""},
                 {"hostResolver", ""},
                 {"core", ""},
                 {"spiffe", ""},
                 {"pilot", ""}},
                &warnings_);
  each(root, "", [&](const std::string& key, const Node& k, const Node& v) {
    if (iequals(key, "infra")) {
      config.infra = read_infra(v, "infra", r_, &lines);
    } else if (iequals(key, "entryPoints") && r_.expect_map(v, kEntryPoints, k)) {
      r_.check_unique_keys(v, kEntryPoints);
      each(v, kEntryPoints, [&](const std::string& n, const Node& nk, const Node& nv) {
        read_entry_point(n, nk, nv);
      });
    } else if (iequals(key, "certificatesResolvers") && r_.expect_map(v, kResolvers, k)) {
      r_.check_unique_keys(v, kResolvers);
      each(v, kResolvers,
           [&](const std::string& n, const Node& nk, const Node& nv) { read_resolver(n, nk, nv); });
    } else if (iequals(key, "providers") && r_.expect_map(v, key, k)) {
      read_providers(v);
    } else if (iequals(key, "log") && r_.expect_map(v, key, k)) {
      read_log(v, r_, config.log);
    } else if (iequals(key, "accessLog") && r_.section(v, key, k)) {
      read_access_log(v, r_, config.access_log);
    } else if (iequals(key, "metrics") && r_.section(v, key, k)) {
      read_metrics(v, r_, config.prometheus);
    } else if (iequals(key, "ping") && r_.section(v, key, k)) {
      read_ping(v, r_, config.ping);
    } else if (iequals(key, "api") && r_.section(v, key, k)) {
      read_api(v, r_, config.api);
    } else if (iequals(key, "serversTransport") && r_.expect_map(v, key, k)) {
      read_servers_transport(v, r_, config.servers_transport.emplace());
    } else if (iequals(key, "tcpServersTransport") && r_.expect_map(v, key, k)) {
      read_tcp_servers_transport(v, r_, config.tcp_servers_transport);
    } else if (iequals(key, "global") && r_.expect_map(v, key, k)) {
      read_global(v);
    } else if (iequals(key, "diagnostics") && r_.expect_map(v, key, k)) {
      read_diagnostics(v);
    } else if (iequals(key, "state") && r_.expect_map(v, key, k)) {
      read_state(v);
    } else if (iequals(key, "ocsp")) {
      config.ocsp_enabled = r_.section(v, key, k);  // `ocsp: false` turns stapling off
      if (config.ocsp_enabled) read_ocsp(v);
    } else if (iequals(key, "workers")) {
      read_workers(k, v);
    } else if (iequals(key, "experimental") && r_.expect_map(v, key, k)) {
      r_.check_keys(v, key, {"http3"},
                    {{"plugins", ""}, {"localPlugins", ""}, {"kubernetesGateway", ""}, {"otlpLogs", ""},
                     {"fastProxy", ""}, {"abortOnPluginFailure", ""}});
      if (auto [hk, hv] = YamlReader::find(v, "http3"); hk.IsDefined())
        warn(child_path(key, hk.Scalar()), kNoHttp3, hk);
    }
  });
}

// ---- entryPoints ----------------------------------------------------------------------------

bool SectionReader::read_address(const std::string& path, const Node& k, const Node& v,
                                 EntryPoint& ep) {
  auto text = r_.string(v, path, k);
  if (!text) return false;
  std::string_view addr = *text;
  ep.address = *text;
  auto slash = addr.rfind('/');
  if (slash != std::string_view::npos) {
    std::string_view proto = addr.substr(slash + 1);
    if (proto == "udp") {
      ep.protocol = Proto::udp;
    } else if (proto != "tcp") {
      r_.error(path, "invalid protocol \"" + std::string(proto) + "\" (tcp or udp)", k, v);
      return false;
    }
    addr = addr.substr(0, slash);
  }
  std::string error;
  auto hp = parse_host_port(addr, error);
  if (!hp) {
    r_.error(path, error, k, v);
    return false;
  }
  ep.port = hp->port;
  ep.hosts = {hp->host == "localhost" ? std::string("127.0.0.1") : hp->host};
  return true;
}

void SectionReader::read_entry_point(const std::string& name, const Node& k, const Node& v) {
  const std::string path = child_path(kEntryPoints, name);
  mark(path, k);
  EntryPoint ep;
  ep.name = name;
  if (!r_.expect_map(v, path, k)) return;
  r_.check_keys(v, path,
                {"address", "http", "transport", "forwardedHeaders", "proxyProtocol", "udp", "portier",
                 "http3", "http2", "reusePort", "allowACMEByPass", "asDefault"},
                {{"observability", ""}});
  // reusePort: TCP listeners are always bound with SO_REUSEPORT (one acceptor per worker);
  // a UDP entrypoint's single socket gets it only when asked.
  r_.get(v, "reusePort", path, ep.reuse_port);
  r_.get(v, "allowACMEByPass", path, ep.allow_acme_bypass);
  r_.get(v, "asDefault", path, ep.as_default);
  auto [ak, av] = YamlReader::find(v, "address");
  if (!ak.IsDefined()) {
    r_.error(child_path(path, "address"), "required", line_of(k));
  } else {
    mark(child_path(path, "address"), ak);
    // The kind (protocol) is known only from a valid address.
    if (read_address(child_path(path, "address"), ak, av, ep)) check_entry_point_kind(v, path, ep, r_);
  }
  each(v, path, [&](const std::string& key, const Node& sk, const Node& sv) {
    const std::string p = child_path(path, key);
    const bool scalar = iequals(key, "address") || iequals(key, "reusePort") ||
                        iequals(key, "allowACMEByPass") || iequals(key, "asDefault");
    if (scalar || !r_.expect_map(sv, p, sk)) return;
    if (iequals(key, "http")) {
      if (ep.protocol == Proto::udp) r_.error(p, "not allowed on a UDP entrypoint", line_of(sk));
      read_ep_http(p, sv, ep);
    } else if (iequals(key, "transport")) {
      read_ep_transport(p, sv, ep);
    } else if (iequals(key, "forwardedHeaders")) {
      read_ep_forwarded(p, sv, ep);
    } else if (iequals(key, "proxyProtocol")) {
      read_ep_proxy_protocol(p, sk, sv, ep);
    } else if (iequals(key, "udp")) {
      r_.check_keys(sv, p, {"timeout"});
      r_.get(sv, "timeout", p, ep.udp_timeout);
    } else if (iequals(key, "portier")) {
      read_ep_portier(name, p, sk, sv, ep);
    } else if (iequals(key, "http3")) {
      read_ep_http3(p, sk, sv, ep);
    } else if (iequals(key, "http2")) {
      r_.check_keys(sv, p, {"maxConcurrentStreams"});
      if (auto [mk, mv] = YamlReader::find(sv, "maxConcurrentStreams"); mk.IsDefined()) {
        // Go's http2.Server (Traefik) takes 0 as its default, 250.
        if (auto n = r_.integer(mv, child_path(p, mk.Scalar()), 0, INT32_MAX, mk))
          ep.http2_max_concurrent_streams = *n == 0 ? 250 : static_cast<uint32_t>(*n);
      }
    }
  });
  config.entry_points[name] = std::move(ep);
}

void SectionReader::read_ep_http(const std::string& path, const Node& v, EntryPoint& ep) {
  r_.check_keys(v, path,
                {"redirections", "tls", "middlewares", "encodeQuerySemicolons", "sanitizePath",
                 "maxHeaderBytes"});
  r_.get(v, "encodeQuerySemicolons", path, ep.encode_query_semicolons);
  r_.get(v, "sanitizePath", path, ep.sanitize_path);
  if (auto [mk, mv] = YamlReader::find(v, "maxHeaderBytes"); mk.IsDefined()) {
    // Go's http.Server takes 0 (or less) as its default, 1 MiB.
    if (auto n = r_.integer(mv, child_path(path, mk.Scalar()), INT32_MIN, INT32_MAX, mk))
      ep.max_header_bytes = *n <= 0 ? size_t{1} << 20 : static_cast<size_t>(*n);
  }
  each(v, path, [&](const std::string& key, const Node& k, const Node& sv) {
    const std::string p = child_path(path, key);
    if (iequals(key, "encodeQuerySemicolons") || iequals(key, "sanitizePath") ||
        iequals(key, "maxHeaderBytes")) {
      return;
    } else if (iequals(key, "middlewares")) {
      r_.get(v, key, path, ep.middlewares);
    } else if (iequals(key, "tls") && r_.section(sv, p, k)) {
      r_.check_keys(sv, p, {"certResolver", "options", "domains"});
      ep.tls = true;
      r_.get(sv, "options", p, ep.tls_options);
      if (r_.get(sv, "certResolver", p, ep.tls_cert_resolver)) {
        mark(child_path(p, "certResolver"), YamlReader::find(sv, "certResolver").first);
      }
      if (auto [dk, dv] = YamlReader::find(sv, "domains"); dk.IsDefined())
        read_tls_domains(child_path(p, dk.Scalar()), dk, dv, ep.tls_domains);
    } else if (iequals(key, "redirections") && r_.expect_map(sv, p, k)) {
      r_.check_keys(sv, p, {"entryPoint"});
      auto [ek, ev] = YamlReader::find(sv, "entryPoint");
      if (ek.IsDefined()) read_redirection(child_path(p, "entryPoint"), ek, ev, ep);
    }
  });
}

// http.tls.domains: a sequence of {main, sans}; `main` is required.
void SectionReader::read_tls_domains(const std::string& path, const Node& k, const Node& v,
                                     std::vector<Domain>& out) {
  mark(path, k);
  if (!v.IsSequence()) {
    r_.error(path, "expected a list of {main, sans}", k, v);
    return;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = index_path(path, i);
    if (!r_.expect_map(v[i], p, k)) continue;
    r_.check_keys(v[i], p, {"main", "sans"});
    Domain d;
    r_.get(v[i], "main", p, d.main);
    r_.get(v[i], "sans", p, d.sans);
    if (d.main.empty()) r_.error(child_path(p, "main"), "required", k, v[i]);
    else out.push_back(std::move(d));
  }
}

void SectionReader::read_redirection(const std::string& path, const Node& k, const Node& v,
                                     EntryPoint& ep) {
  if (!r_.expect_map(v, path, k)) return;
  r_.check_keys(v, path, {"to", "scheme", "permanent", "priority"});
  Redirection red;
  auto [tk, tv] = YamlReader::find(v, "to");
  if (!tk.IsDefined()) {
    r_.error(child_path(path, "to"), "required", line_of(k));
    return;
  }
  mark(child_path(path, "to"), tk);
  if (!r_.get(v, "to", path, red.to)) return;
  r_.get(v, "scheme", path, red.scheme);
  if (red.scheme != "http" && red.scheme != "https") {
    auto [sk, sv] = YamlReader::find(v, "scheme");
    r_.error(child_path(path, "scheme"), "must be http or https", sk, sv);
  }
  r_.get(v, "permanent", path, red.permanent);
  if (auto [pk, pv] = YamlReader::find(v, "priority"); pk.IsDefined()) {
    if (auto p = r_.integer(pv, child_path(path, "priority"), 0, INT32_MAX, pk)) red.priority = *p;
  }
  ep.redirection = red;
}

void SectionReader::read_ep_transport(const std::string& path, const Node& v, EntryPoint& ep) {
  r_.check_keys(v, path, {"respondingTimeouts", "lifeCycle", "keepAliveMaxRequests", "keepAliveMaxTime"});
  if (auto [mk, mv] = YamlReader::find(v, "keepAliveMaxRequests"); mk.IsDefined()) {
    // Traefik: a value <= 0 sets no limit.
    if (auto n = r_.integer(mv, child_path(path, mk.Scalar()), INT32_MIN, INT32_MAX, mk))
      ep.keep_alive_max_requests = static_cast<int>(std::max<int64_t>(*n, 0));
  }
  r_.get(v, "keepAliveMaxTime", path, ep.keep_alive_max_time);
  each(v, path, [&](const std::string& key, const Node& k, const Node& sv) {
    const std::string p = child_path(path, key);
    if (iequals(key, "keepAliveMaxRequests") || iequals(key, "keepAliveMaxTime")) return;
    if (!r_.expect_map(sv, p, k)) return;
    if (iequals(key, "respondingTimeouts")) {
      r_.check_keys(sv, p, {"readTimeout", "writeTimeout", "idleTimeout"});
      r_.get(sv, "readTimeout", p, ep.read_timeout);
      r_.get(sv, "writeTimeout", p, ep.write_timeout);
      r_.get(sv, "idleTimeout", p, ep.idle_timeout);
    } else if (iequals(key, "lifeCycle")) {
      r_.check_keys(sv, p, {"graceTimeOut", "requestAcceptGraceTimeout"});
      r_.get(sv, "graceTimeOut", p, ep.grace_timeout);
      r_.get(sv, "requestAcceptGraceTimeout", p, ep.request_accept_grace);
    }
  });
}

// entryPoints.NAME.portier: portier's own entrypoint keys (Traefik has none for these).
// tcp-* and UDP entrypoints serve no HTTP, so neither key could apply there.
void SectionReader::read_ep_portier(const std::string& name, const std::string& path, const Node& k,
                                    const Node& v, EntryPoint& ep) {
  if (ep.protocol == Proto::udp || name.rfind("tcp-", 0) == 0) {
    r_.error(path, "not supported on a tcp-* or UDP entrypoint", line_of(k));
    return;
  }
  r_.check_keys(v, path, {"headerTimeout", "maxConnections"});
  if (r_.get(v, "headerTimeout", path, ep.header_timeout) && ep.header_timeout.count() <= 0) {
    auto [hk, hv] = YamlReader::find(v, "headerTimeout");
    r_.error(child_path(path, "headerTimeout"), "must be greater than 0", hk, hv);
  }
  if (auto [mk, mv] = YamlReader::find(v, "maxConnections"); mk.IsDefined()) {
    if (auto n = r_.integer(mv, child_path(path, "maxConnections"), 0, 10000000, mk))
      ep.max_connections = static_cast<int>(*n);
  }
}

void SectionReader::read_ep_forwarded(const std::string& path, const Node& v, EntryPoint& ep) {
  r_.check_keys(v, path, {"trustedIPs", "insecure"}, {{"connection", ""}});
  r_.get(v, "insecure", path, ep.forwarded_insecure);
  read_trusted_ips(path, v, ep.trusted_ips);
}

// Traefik builds the PROXY listener with ip.NewChecker(trustedIPs) unless insecure, and that
// refuses an empty list ("no trusted IPs provided"); the entrypoint then fails to start.
void SectionReader::read_ep_proxy_protocol(const std::string& path, const Node& k, const Node& v,
                                           EntryPoint& ep) {
  if (ep.protocol == Proto::udp) {
    r_.error(path, "not allowed on a UDP entrypoint", line_of(k));
    return;
  }
  r_.check_keys(v, path, {"trustedIPs", "insecure"});
  EntryPoint::ProxyProtocol pp;
  r_.get(v, "insecure", path, pp.insecure);
  read_trusted_ips(path, v, pp.trusted_ips);
  if (!pp.insecure && pp.trusted_ips.empty())
    r_.error(child_path(path, "trustedIPs"), "no trusted IPs provided (or set insecure: true)", line_of(k));
  ep.proxy_protocol = std::move(pp);
}

// Traefik's HTTP3Config: the UDP socket serves the entrypoint's TLS side; advertisedPort is
// what Alt-Svc names (Traefik refuses a negative one).
void SectionReader::read_ep_http3(const std::string& path, const Node& k, const Node& v, EntryPoint& ep) {
  if (ep.protocol == Proto::udp || ep.name.rfind("tcp-", 0) == 0) {
    r_.error(path, "not supported on a tcp-* or UDP entrypoint", line_of(k));
    return;
  }
  r_.check_keys(v, path, {"advertisedPort"});
  EntryPoint::Http3 h3;
  if (auto [pk, pv] = YamlReader::find(v, "advertisedPort"); pk.IsDefined()) {
    if (auto n = r_.integer(pv, child_path(path, pk.Scalar()), 0, 65535, pk))
      h3.advertised_port = static_cast<uint16_t>(*n);
  }
  ep.http3 = h3;
}

// `trustedIPs` of `map` (at `path`) into `out`, each checked to be an address or a CIDR.
void SectionReader::read_trusted_ips(const std::string& path, const Node& map, std::vector<std::string>& out) {
  auto [k, list] = YamlReader::find(map, "trustedIPs");
  if (!k.IsDefined()) return;
  const std::string p = child_path(path, "trustedIPs");
  auto ips = r_.strings(list, p, k);
  if (!ips) return;
  for (size_t i = 0; i < ips->size(); ++i) {
    if (!is_ip_or_cidr((*ips)[i])) {
      const Node at = list.IsSequence() ? list[i] : list;
      r_.error(list.IsSequence() ? index_path(p, i) : p, "invalid IP or CIDR \"" + (*ips)[i] + "\"",
               k, at);
    }
  }
  out = *ips;
}

// ---- certificatesResolvers ------------------------------------------------------------------

void SectionReader::read_resolver(const std::string& name, const Node& k, const Node& v) {
  const std::string path = child_path(kResolvers, name);
  mark(path, k);
  CertResolver cr;
  cr.name = name;
  if (!r_.expect_map(v, path, k)) return;
  r_.check_keys(v, path, {"acme"}, {{"tailscale", ""}});
  auto [ak, av] = YamlReader::find(v, "acme");
  if (!ak.IsDefined()) {
    if (!YamlReader::find(v, "tailscale").first.IsDefined()) {
      r_.error(child_path(path, "acme"), "required", line_of(k));
    }
    return;
  }
  read_acme(child_path(path, "acme"), ak, av, cr);
  config.cert_resolvers[name] = std::move(cr);
}

void SectionReader::read_acme(const std::string& path, const Node& k, const Node& v,
                              CertResolver& cr) {
  if (!r_.expect_map(v, path, k)) return;
  r_.check_keys(v, path,
                {"email", "storage", "caServer", "caCertificates", "keyType", "dnsChallenge",
                 "httpChallenge", "tlsChallenge", "eab", "certificatesDuration", "preferredChain"},
                {{"caSystemCertPool", ""},
                 {"caServerName", ""},
                 {"clientTimeout", ""},
                 {"clientResponseHeaderTimeout", ""},
                 {"certificateTimeout", ""},
                 {"profile", ""},
                 {"emailAddresses", ""},
                 {"disableCommonName", ""}});
  r_.get(v, "email", path, cr.email);
  r_.get(v, "storage", path, cr.storage);
  r_.get(v, "caCertificates", path, cr.ca_certificates);
  r_.get(v, "preferredChain", path, cr.preferred_chain);
  if (r_.get(v, "caServer", path, cr.ca_server) && cr.ca_server.rfind("https://", 0) != 0 &&
      cr.ca_server.rfind("http://", 0) != 0) {
    auto [sk, sv] = YamlReader::find(v, "caServer");
    r_.error(child_path(path, "caServer"), "must be an http(s) URL", sk, sv);
  }
  if (r_.get(v, "keyType", path, cr.key_type)) {
    static const char* kTypes[] = {"EC256", "EC384", "RSA2048", "RSA3072", "RSA4096", "RSA8192"};
    if (std::find(std::begin(kTypes), std::end(kTypes), cr.key_type) == std::end(kTypes)) {
      auto [tk, tv] = YamlReader::find(v, "keyType");
      r_.error(child_path(path, "keyType"),
               "invalid key type \"" + cr.key_type +
                   "\" (EC256, EC384, RSA2048, RSA3072, RSA4096, RSA8192)",
               tk, tv);
    }
  }
  // Traefik: "cannot manage certificates with duration lower than 1 hour".
  if (auto [ck, cv] = YamlReader::find(v, "certificatesDuration"); ck.IsDefined())
    if (auto hours = r_.integer(cv, child_path(path, "certificatesDuration"), 1, 1000000, ck))
      cr.certificates_duration = static_cast<int>(*hours);
  read_acme_extras(path, v, cr);
  if (!cr.dns_challenge && !cr.http_challenge && !cr.tls_challenge)
    r_.error(child_path(path, "dnsChallenge"),
             "required: one of dnsChallenge, httpChallenge, tlsChallenge", line_of(k));
}

// eab, httpChallenge and tlsChallenge of certificatesResolvers.NAME.acme.
void SectionReader::read_acme_extras(const std::string& path, const Node& v, CertResolver& cr) {
  if (auto [dk, dv] = YamlReader::find(v, "dnsChallenge"); dk.IsDefined())
    read_dns_challenge(child_path(path, "dnsChallenge"), dk, dv, cr);
  if (auto [ek, ev] = YamlReader::find(v, "eab"); ek.IsDefined()) {
    const std::string p = child_path(path, "eab");
    if (r_.expect_map(ev, p, ek)) {
      r_.check_keys(ev, p, {"kid", "hmacEncoded"});
      ExternalAccountBinding eab;
      r_.get(ev, "kid", p, eab.kid);
      r_.get(ev, "hmacEncoded", p, eab.hmac_encoded);
      if (eab.kid.empty() || eab.hmac_encoded.empty())
        r_.error(p, "kid and hmacEncoded are both required", ek, ev);
      else
        cr.eab = eab;
    }
  }
  if (auto [hk, hv] = YamlReader::find(v, "httpChallenge"); hk.IsDefined()) {
    const std::string p = child_path(path, "httpChallenge");
    if (r_.expect_map(hv, p, hk)) {
      r_.check_keys(hv, p, {"entryPoint", "delay"});
      HttpChallenge hc;
      r_.get(hv, "entryPoint", p, hc.entry_point);
      r_.get(hv, "delay", p, hc.delay);
      if (hc.entry_point.empty()) r_.error(child_path(p, "entryPoint"), "required", line_of(hk));
      else cr.http_challenge = hc;
    }
  }
  if (auto [tk, tv] = YamlReader::find(v, "tlsChallenge"); tk.IsDefined()) {
    const std::string p = child_path(path, "tlsChallenge");
    if (r_.section(tv, p, tk)) {
      r_.check_keys(tv, p, {"delay"});
      TlsChallenge tc;
      if (tv.IsMap()) r_.get(tv, "delay", p, tc.delay);
      cr.tls_challenge = tc;
    }
  }
}

void SectionReader::read_dns_challenge(const std::string& path, const Node& k, const Node& v,
                                       CertResolver& cr) {
  if (!r_.expect_map(v, path, k)) return;
  mark(path, k);
  r_.check_keys(
      v, path,
      {"provider", "resolvers", "propagation", "delayBeforeCheck", "disablePropagationCheck"});
  DnsChallenge dc;
  auto [pk, pv] = YamlReader::find(v, "provider");
  if (!pk.IsDefined()) {
    r_.error(child_path(path, "provider"), "required", line_of(k));
  } else if (r_.get(v, "provider", path, dc.provider) && dc.provider != "cloudflare") {
    r_.error(child_path(path, "provider"),
             "provider \"" + dc.provider + "\" not supported (portier implements cloudflare only)",
             pk, pv);
  }
  auto [rk, rv] = YamlReader::find(v, "resolvers");
  if (r_.get(v, "resolvers", path, dc.resolvers)) {
    for (size_t i = 0; i < dc.resolvers.size(); ++i) {
      const std::string& s = dc.resolvers[i];
      std::string err;
      auto hp = is_ipv4(s) || is_ipv6(s) ? std::optional<HostPort>(HostPort{s, 53})
                                         : parse_host_port(s, err);
      if (!hp || hp->host.empty()) {
        r_.error(rv.IsSequence() ? index_path(child_path(path, "resolvers"), i)
                                 : child_path(path, "resolvers"),
                 "invalid DNS resolver \"" + s + "\" (expected IP or IP:port)", rk,
                 rv.IsSequence() ? rv[i] : rv);
      }
    }
  }
  r_.get(v, "delayBeforeCheck", path, dc.delay_before_checks);
  r_.get(v, "disablePropagationCheck", path, dc.disable_checks);
  auto [gk, gv] = YamlReader::find(v, "propagation");
  const std::string gp = child_path(path, "propagation");
  if (gk.IsDefined() && r_.expect_map(gv, gp, gk)) {
    r_.check_keys(gv, gp,
                  {"delayBeforeChecks", "disableChecks", "disableANSChecks", "requireAllRNS"});
    r_.get(gv, "delayBeforeChecks", gp, dc.delay_before_checks);
    r_.get(gv, "disableChecks", gp, dc.disable_checks);
    r_.get(gv, "disableANSChecks", gp, dc.disable_ans_checks);
    r_.get(gv, "requireAllRNS", gp, dc.require_all_rns);
  }
  cr.dns_challenge = dc;
}

// ---- providers and the small blocks ---------------------------------------------------------

void SectionReader::read_providers(const Node& v) {
  const std::string path = "providers";
  r_.check_keys(v, path, {"docker", "file"},
                {{"http",
                  "portier discovers Docker containers itself (providers.docker); "
                  "remove providers.http"},
                 {"kubernetesCRD", ""},
                 {"kubernetesIngress", ""},
                 {"kubernetesGateway", ""},
                 {"knative", ""},
                 {"swarm", ""},
                 {"consulCatalog", ""},
                 {"nomad", ""},
                 {"ecs", ""},
                 {"consul", ""},
                 {"etcd", ""},
                 {"zooKeeper", ""},
                 {"redis", ""},
                 {"rest", ""},
                 {"plugin", ""},
                 {"providersThrottleDuration", ""}});
  each(v, path, [&](const std::string& key, const Node& k, const Node& sv) {
    const std::string p = child_path(path, key);
    if (!r_.section(sv, p, k)) {
      if (iequals(key, "docker")) docker_off = true;  // `docker: false`, even with infra
      return;
    }
    if (iequals(key, "docker")) read_docker(p, sv);
    if (iequals(key, "file")) read_file_provider(p, k, sv);
  });
}

void SectionReader::read_docker(const std::string& path, const Node& v) {
  config.docker = read_docker_provider(v, path, r_);
}

void SectionReader::read_file_provider(const std::string& path, const Node& k, const Node& v) {
  r_.check_keys(v, path, {"filename", "directory", "watch"}, {{"debugLogGeneratedTemplate", ""}});
  FileProvider f;
  r_.get(v, "filename", path, f.filename);
  r_.get(v, "directory", path, f.directory);
  r_.get(v, "watch", path, f.watch);
  if (f.filename.empty() == f.directory.empty()) {
    r_.error(path, "set exactly one of filename or directory", line_of(k));
  }
  config.file = std::move(f);
}

void SectionReader::read_global(const Node& v) {
  r_.check_keys(v, "global", {"checkNewVersion", "sendAnonymousUsage"});
  bool ignored = false;
  r_.get(v, "checkNewVersion", "global", ignored);
  r_.get(v, "sendAnonymousUsage", "global", ignored);
}

void SectionReader::read_diagnostics(const Node& v) {
  r_.check_keys(v, "diagnostics", {"address", "allowPublic"});
  if (r_.get(v, "address", "diagnostics", config.diagnostics_address)) {
    mark("diagnostics.address", YamlReader::find(v, "address").first);
  }
  r_.get(v, "allowPublic", "diagnostics", config.diagnostics_allow_public);
}

// Traefik's `ocsp: {}` is accepted; stapling is on by default in portier and `enabled: false`
// (portier's key) turns it off.
void SectionReader::read_ocsp(const Node& v) {
  if (v.IsNull()) return;
  r_.check_keys(v, "ocsp", {"enabled"}, {{"responderOverrides", ""}});
  r_.get(v, "enabled", "ocsp", config.ocsp_enabled);
}

void SectionReader::read_state(const Node& v) {
  r_.check_keys(v, "state", {"directory"});
  std::string dir;
  if (r_.get(v, "directory", "state", dir)) {
    if (dir.empty() || dir.front() != '/') {
      auto [k, dv] = YamlReader::find(v, "directory");
      r_.error("state.directory", "must be an absolute path", k, dv);
    } else {
      config.state_directory = dir;
    }
  }
}

void SectionReader::read_workers(const Node& k, const Node& v) {
  if (v.IsScalar() && v.Scalar() == "auto") {
    config.workers = 0;
  } else if (v.IsScalar() && !v.Scalar().empty() &&
             std::isdigit(static_cast<unsigned char>(v.Scalar()[0]))) {
    if (auto n = r_.integer(v, "workers", 1, 1024, k)) config.workers = static_cast<int>(*n);
  } else {
    r_.error("workers", "expected auto or a number of threads", k, v);
  }
}

// ---- environment, flags, token file ---------------------------------------------------------

void apply_port_flag(std::vector<uint16_t>& field, const std::vector<uint16_t>& ports,
                     const char* flag, core::Problems& problems) {
  if (std::find(ports.begin(), ports.end(), 0) != ports.end()) {
    problems.push_back({flag, "port 0 out of range 1..65535", 0});
    return;
  }
  field = ports;
}

void apply_overrides(StaticConfig& c, const Overrides& o, Origins& origins,
                     core::Problems& problems) {
  Infra& infra = c.infra;
  struct Flag {
    const std::optional<std::string>& value;
    std::string& field;
    const char* key;
    const char* name;
  };
  const Flag infra_flags[] = {
      {o.public_ipv4, infra.public_ipv4, "public_ipv4", "--public-ipv4"},
      {o.public_ipv6, infra.public_ipv6, "public_ipv6", "--public-ipv6"},
      {o.base_domain, infra.base_domain, "base_domain", "--base-domain"},
      {o.cert_email, infra.cert_email, "cert_email", "--cert-email"},
      {o.cf_dns_token, infra.cf_dns_api_token, "cf_dns_api_token", "--cf-dns-token"},
  };
  for (const auto& f : infra_flags) {
    if (!f.value) continue;
    infra.enabled = true;
    set_infra_value(f.field, f.key, *f.value, f.name, problems);
  }
  if (o.cf_dns_token && !o.cf_dns_token->empty()) infra.cf_dns_api_token_file.clear();
  if (o.tcp_ports) apply_port_flag(infra.tcp_ports, *o.tcp_ports, "--tcp-ports", problems);
  if (o.udp_ports) apply_port_flag(infra.udp_ports, *o.udp_ports, "--udp-ports", problems);
  if (o.tcp_ports || o.udp_ports) infra.enabled = true;
  if (o.diag_address) {
    c.diagnostics_address = *o.diag_address;
    origins.diagnostics = "--diag-address";
  }
  if (o.state_dir) {
    if (o.state_dir->empty() || o.state_dir->front() != '/') {
      problems.push_back({"--state-dir", "must be an absolute path", 0});
    } else {
      c.state_directory = *o.state_dir;
    }
  }
  if (o.log_level) {
    core::LogLevel parsed;
    if (!core::parse_log_level(*o.log_level, parsed)) {
      problems.push_back({"--log-level", "invalid level \"" + *o.log_level + "\"", 0});
    } else {
      c.log.level = *o.log_level;
      std::transform(c.log.level.begin(), c.log.level.end(), c.log.level.begin(), ::tolower);
    }
  }
  if (!o.docker_endpoints.empty()) {
    if (!c.docker) c.docker = DockerProvider{};
    c.docker->endpoints = o.docker_endpoints;
  }
}

}  // namespace

StaticLoadResult load_static_config_text(std::string_view yaml, const std::string& source,
                                         const Overrides& overrides,
                                         const std::map<std::string, std::string>& env) {
  StaticLoadResult result;
  core::Problems& problems = result.problems;
  auto root = parse_yaml(yaml, source, problems);
  if (!root) {
    result.config.source = source;
    return result;
  }
  SectionReader reader(problems, result.warnings);
  reader.read_root(*root);
  StaticConfig& c = result.config = std::move(reader.config);
  c.source = source;
  Origins origins;
  if (auto origin = apply_infra_environment(c.infra, env, problems); !origin.empty()) {
    origins.token_file = origin;
  }
  apply_overrides(c, overrides, origins, problems);
  read_infra_token_file(c.infra, origins.token_file, line_at(reader.lines, origins.token_file),
                        problems);
  validate_infra(c.infra, reader.lines, problems);
  apply_infra_expansion(c);
  // A server set up with `infra` is a Rediacc server: discovery is on by default there.
  if (c.infra.enabled && !c.docker && !reader.docker_off) {
    c.docker.emplace();
    c.docker->endpoints = default_docker_endpoints();
  }
  apply_internal_entry_point(c, problems);
  validate_diagnostics(c, origins.diagnostics, reader.lines, problems);
  validate_entry_points(c, reader.lines, problems);
  validate_resolvers(c, reader.lines, problems);
  return result;
}

StaticLoadResult load_static_config_file(const std::string& path, const Overrides& overrides,
                                         const std::map<std::string, std::string>& env) {
  std::string error;
  auto text = core::read_file(path, &error);
  if (!text) {
    StaticLoadResult result;
    result.config.source = path;
    result.problems.push_back({"", "cannot read the configuration file " + error, 0});
    return result;
  }
  return load_static_config_text(*text, path, overrides, env);
}

}  // namespace portier::config
