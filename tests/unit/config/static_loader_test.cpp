#include "config/static_loader.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "config/default_entry_points.hpp"
#include "config/infra_expansion.hpp"
#include "config/yaml_util.hpp"
#include "tests/unit/config/static_load_util.hpp"

using namespace portier::config;
using namespace portier::config::test;
using std::chrono::milliseconds;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/portier-static-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("value syntaxes") {
  CHECK(parse_duration("10s") == milliseconds(10000));
  CHECK(parse_duration("1m30s") == milliseconds(90000));
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("1.5s") == milliseconds(1500));
  CHECK(parse_duration("42") == milliseconds(42000));
  CHECK(parse_duration("0") == milliseconds(0));
  CHECK(parse_duration("1h") == milliseconds(3600000));
  CHECK_FALSE(parse_duration("10x"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK(parse_port("443") == uint16_t(443));
  CHECK_FALSE(parse_port("0"));
  CHECK_FALSE(parse_port("65536"));
  CHECK_FALSE(parse_port("44x"));
  std::string err;
  auto hp = parse_host_port("[::1]:443", err);
  REQUIRE(hp);
  CHECK(hp->host == "::1");
  CHECK(hp->port == 443);
  CHECK(parse_host_port(":80", err)->host.empty());
  CHECK_FALSE(parse_host_port("::1:443", err));
  CHECK_FALSE(parse_host_port("127.0.0.1", err));
  CHECK(err.find("missing port") != std::string::npos);
  CHECK(format_host_port("2001:db8::1", 80) == "[2001:db8::1]:80");
  auto range = parse_port_range("10000-10010", err);
  REQUIRE(range);
  CHECK(range->first == 10000);
  CHECK(range->last == 10010);
  CHECK_FALSE(parse_port_range("10010-10000", err));
  CHECK(err.find("not ordered") != std::string::npos);
  CHECK(is_loopback_host("127.0.11.2"));
  CHECK(is_loopback_host("::1"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
  CHECK_FALSE(is_loopback_host(""));
  CHECK(is_ip_or_cidr("10.0.0.0/8"));
  CHECK(is_ip_or_cidr("2001:db8::/32"));
  CHECK_FALSE(is_ip_or_cidr("10.0.0.0/33"));
}

TEST_CASE("a Traefik static file using the supported subset loads") {
  const char* yaml = R"(global:
  checkNewVersion: false
  sendAnonymousUsage: false
log:
  level: DEBUG
  format: json
accessLog:
  filePath: /var/log/access.log
entryPoints:
  web:
    address: ":80"
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
          permanent: true
  websecure:
    address: "127.0.0.1:8443"
    http:
      tls:
        certResolver: le
      middlewares: [secure-headers@file]
    transport:
      respondingTimeouts:
        readTimeout: 30s
        writeTimeout: 1m30s
        idleTimeout: 500ms
      lifeCycle:
        graceTimeOut: 5
    forwardedHeaders:
      trustedIPs: ["10.0.0.0/8", "::1"]
      insecure: false
  v6:
    address: "[::1]:8444"
  dns:
    address: ":53/udp"
    udp:
      timeout: 10s
  dns4:
    address: "0.0.0.0:5353/udp"
certificatesResolvers:
  le:
    acme:
      email: admin@example.com
      storage: /data/acme.json
      caServer: https://acme-staging-v02.api.letsencrypt.org/directory
      keyType: RSA4096
      dnsChallenge:
        provider: cloudflare
        resolvers: ["1.1.1.1:53", "8.8.8.8"]
        propagation:
          delayBeforeChecks: 2s
          disableANSChecks: true
          requireAllRNS: true
providers:
  docker:
    endpoint: "unix:///var/run/docker.sock"
    exposedByDefault: false
    network: proxy
    watch: true
  file:
    directory: /etc/portier/dynamic
diagnostics:
  address: 127.0.0.1:7200
state:
  directory: /tmp/portier-state
workers: 3
)";
  auto r = load(yaml, {}, {{"CF_DNS_API_TOKEN", "tok"}});
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& c = r.config;
  CHECK(c.source == "test.yml");
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == "json");
  CHECK(c.access_log.enabled);
  CHECK(c.access_log.file_path == "/var/log/access.log");
  REQUIRE(c.entry_points.size() == 5);
  const auto& web = c.entry_points.at("web");
  CHECK(web.port == 80);
  CHECK(web.hosts == std::vector<std::string>{""});
  REQUIRE(web.redirection);
  CHECK(web.redirection->to == "websecure");
  CHECK(web.redirection->permanent);
  CHECK_FALSE(web.from_infra);
  const auto& ws = c.entry_points.at("websecure");
  CHECK(ws.hosts == std::vector<std::string>{"127.0.0.1"});
  CHECK(ws.port == 8443);
  CHECK(ws.tls);
  CHECK(ws.tls_cert_resolver == "le");
  CHECK(ws.middlewares == std::vector<std::string>{"secure-headers@file"});
  CHECK(ws.read_timeout == milliseconds(30000));
  CHECK(ws.write_timeout == milliseconds(90000));
  CHECK(ws.idle_timeout == milliseconds(500));
  CHECK(ws.grace_timeout == milliseconds(5000));
  CHECK(ws.trusted_ips.size() == 2);
  CHECK(c.entry_points.at("v6").hosts == std::vector<std::string>{"::1"});
  const auto& dns = c.entry_points.at("dns");
  CHECK(dns.protocol == EntryPoint::Protocol::udp);
  CHECK(dns.port == 53);
  CHECK(dns.udp_timeout == milliseconds(10000));
  CHECK(c.entry_points.at("dns4").hosts == std::vector<std::string>{"0.0.0.0"});
  const auto& le = c.cert_resolvers.at("le");
  CHECK(le.email == "admin@example.com");
  CHECK(le.storage == "/data/acme.json");
  CHECK(le.key_type == "RSA4096");
  REQUIRE(le.dns_challenge);
  CHECK(le.dns_challenge->provider == "cloudflare");
  CHECK(le.dns_challenge->resolvers.size() == 2);
  CHECK(le.dns_challenge->delay_before_checks == milliseconds(2000));
  CHECK(le.dns_challenge->disable_ans_checks);
  CHECK(le.dns_challenge->require_all_rns);
  REQUIRE(c.docker);
  CHECK(c.docker->endpoints == std::vector<std::string>{"unix:///var/run/docker.sock"});
  CHECK_FALSE(c.docker->exposed_by_default);
  CHECK(c.docker->network == "proxy");
  REQUIRE(c.file);
  CHECK(c.file->directory == "/etc/portier/dynamic");
  CHECK(c.diagnostics_address == "127.0.0.1:7200");
  CHECK(c.state_directory == "/tmp/portier-state");
  CHECK(c.workers == 3);
  CHECK_FALSE(c.infra.enabled);  // no infra block: no expansion
}

TEST_CASE("defaults of an empty file") {
  auto r = load("");
  REQUIRE(r.ok());
  CHECK(r.config.entry_points.empty());
  CHECK(r.config.diagnostics_address == "127.0.0.1:7111");
  CHECK(r.config.workers == 0);
  CHECK_FALSE(r.config.docker);
  auto d = load("providers:\n  docker: {}\nworkers: auto\n");
  REQUIRE(d.ok());
  REQUIRE(d.config.docker);
  CHECK(d.config.docker->endpoints == default_docker_endpoints());
}

TEST_CASE("bad values are reported with their YAML path and line") {
  const char* yaml =
      "entryPoints:\n"                     // 1
      "  web:\n"                           // 2
      "    address: \":80\"\n"             // 3
      "  websecure:\n"                     // 4
      "    address: \":44x\"\n"            // 5
      "    transport:\n"                   // 6
      "      respondingTimeouts:\n"        // 7
      "        readTimeout: 10parsecs\n"   // 8
      "  nohost:\n"                        // 9
      "    address: \"example.com:80\"\n"  // 10
      "  big:\n"                           // 11
      "    address: \":70000\"\n"          // 12
      "  udpbad:\n"                        // 13
      "    address: \":53/sctp\"\n"        // 14
      "  noaddr:\n"                        // 15
      "    udp: {timeout: 3s}\n"           // 16
      "workers: many\n"                    // 17
      "log:\n"                             // 18
      "  level: chatty\n";                 // 19
  auto r = load(yaml);
  INFO(all(r));
  CHECK(has(r, "entryPoints.websecure.address", "invalid port \"44x\"", 5));
  bool exact = false;
  for (const auto& p : r.problems) {
    exact =
        exact || p.to_string() == "entryPoints.websecure.address: invalid port \"44x\" (line 5)";
  }
  CHECK(exact);
  CHECK(has(r, "entryPoints.websecure.transport.respondingTimeouts.readTimeout", "invalid duration",
            8));
  CHECK(has(r, "entryPoints.nohost.address", "invalid host", 10));
  CHECK(has(r, "entryPoints.big.address", "out of range", 12));
  CHECK(has(r, "entryPoints.udpbad.address", "invalid protocol", 14));
  CHECK(has(r, "entryPoints.noaddr.address", "required", 15));
  CHECK(has(r, "workers", "auto", 17));
  CHECK(has(r, "log.level", "invalid level", 19));
  CHECK(r.problems.size() == 8);
}

TEST_CASE("unknown keys and unsupported Traefik keys are errors") {
  const char* yaml =
      "api:\n"                         // 1
      "  debug: true\n"                // 2
      "entryPointz:\n"                 // 3 (a typo at the root: a warning)
      "  web: {address: \":80\"}\n"    // 4
      "providers:\n"                   // 5
      "  http:\n"                      // 6
      "    endpoint: http://rs/\n"     // 7
      "  kubernetesCRD: {}\n"          // 8
      "  docker:\n"                    // 9
      "    exposedByDefualt: false\n"  // 10
      "certificatesResolvers:\n"       // 11
      "  le:\n"                        // 12
      "    acme:\n"                    // 13
      "      email: a@b.c\n"           // 14
      "      httpChallenge:\n"         // 15
      "        entryPoint: web\n"      // 16
      "  r53:\n"                       // 17
      "    acme:\n"                    // 18
      "      dnsChallenge:\n"          // 19
      "        provider: route53\n"    // 20
      "metrics: {datadog: {}}\n"       // 21
      "diagnostics:\n"                 // 22
      "  address: 127.0.0.1:7111\n"    // 23
      "  address: 127.0.0.1:7112\n";   // 24
  auto r = load(yaml, {}, {{"CF_DNS_API_TOKEN", "t"}});
  INFO(all(r));
  CHECK(has(r, "api.debug", "not supported", 2));
  CHECK_FALSE(has(r, "entryPointz", "unknown key"));
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].to_string() == "entryPointz: unknown key, ignored (as Traefik ignores it) (line 3)");
  CHECK(has(r, "providers.http", "discovers Docker containers itself", 6));
  CHECK(has(r, "providers.kubernetesCRD", "not supported", 8));
  CHECK(has(r, "providers.docker.exposedByDefualt", "unknown key", 10));
  CHECK(has(r, "certificatesResolvers.le.acme.httpChallenge.entryPoint", "\"web\" does not exist"));
  CHECK(has(r, "certificatesResolvers.r53.acme.dnsChallenge.provider", "not supported", 20));
  CHECK(has(r, "metrics.datadog", "not supported", 21));
  CHECK(has(r, "diagnostics.address", "duplicate key", 24));
  auto dup = load("entryPoints:\n  web: {address: \":80\"}\n  web: {address: \":81\"}\n");
  CHECK(has(dup, "entryPoints.web", "duplicate key", 3));
}

TEST_CASE("YAML syntax errors and missing files") {
  auto r = load("entryPoints:\n  web: [\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].path == "test.yml");
  CHECK(r.problems[0].message.find("invalid YAML") != std::string::npos);
  CHECK(r.problems[0].line > 0);
  auto m = load_static_config_file("/nonexistent/portier.yml", {}, {});
  REQUIRE(m.problems.size() == 1);
  CHECK(m.problems[0].to_string().find("/nonexistent/portier.yml") != std::string::npos);
  CHECK(load("- a\n- b\n").problems.size() == 1);
}

TEST_CASE("cross checks: bindings, redirects, resolvers, diagnostics") {
  const char* yaml =
      "entryPoints:\n"                         // 1
      "  a:\n"                                 // 2
      "    address: \":8080\"\n"               // 3
      "    http:\n"                            // 4
      "      redirections:\n"                  // 5
      "        entryPoint:\n"                  // 6
      "          to: nowhere\n"                // 7
      "  b:\n"                                 // 8
      "    address: \"127.0.0.1:8080\"\n"      // 9
      "    http:\n"                            // 10
      "      tls:\n"                           // 11
      "        certResolver: missing\n"        // 12
      "  c:\n"                                 // 13
      "    address: \"127.0.0.1:8080/udp\"\n"  // 14
      "diagnostics:\n"                         // 15
      "  address: 0.0.0.0:7111\n";             // 16
  auto r = load(yaml);
  INFO(all(r));
  CHECK(has(r, "entryPoints.a.http.redirections.entryPoint.to", "does not exist", 7));
  CHECK(has(r, "entryPoints.b.http.tls.certResolver", "does not exist", 12));
  CHECK(has(r, "entryPoints.b.address", "also bound by entrypoint \"a\"", 9));
  CHECK(has(r, "diagnostics.address", "not a loopback address", 16));
  CHECK(r.problems.size() == 4);  // c (UDP) does not clash with the TCP ones

  auto pub = load("diagnostics:\n  address: 0.0.0.0:7111\n  allowPublic: true\n");
  CHECK(pub.ok());
  Overrides o;
  o.diag_address = ":9000";
  auto flag = load("", o);
  CHECK(has(flag, "--diag-address", "not a loopback address"));
  auto notoken = load(
      "certificatesResolvers:\n  le:\n    acme:\n      dnsChallenge: {provider: cloudflare}\n");
  CHECK(has(notoken, "certificatesResolvers.le.acme.dnsChallenge", "needs an API token", 4));
  auto nodns = load("certificatesResolvers:\n  le:\n    acme:\n      email: a@b.c\n");
  CHECK(has(nodns, "certificatesResolvers.le.acme.dnsChallenge", "required"));
}

TEST_CASE("precedence: file, then environment, then flags") {
  const char* yaml =
      "infra:\n"
      "  public_ipv4: 203.0.113.50\n"
      "  cert_email: file@example.com\n"
      "  cf_dns_api_token: filetoken\n"
      "  tcp_ports: [25]\n"
      "log: {level: info}\n";
  auto file_only = load(yaml);
  REQUIRE(file_only.ok());
  CHECK(file_only.config.infra.cert_email == "file@example.com");
  CHECK(file_only.config.infra.cf_dns_api_token == "filetoken");

  Env env{{"CERTBOT_EMAIL", "env@example.com"}, {"CF_DNS_API_TOKEN", "envtoken"}};
  auto with_env = load(yaml, {}, env);
  REQUIRE(with_env.ok());
  CHECK(with_env.config.infra.cert_email == "env@example.com");
  CHECK(with_env.config.infra.cf_dns_api_token == "envtoken");

  Overrides o;
  o.cert_email = "flag@example.com";
  o.cf_dns_token = "flagtoken";
  o.public_ipv4 = "198.51.100.7";
  o.tcp_ports = std::vector<uint16_t>{143};
  o.log_level = "WARN";
  o.state_dir = "/srv/portier";
  o.docker_endpoints = {"unix:///tmp/d.sock"};
  auto with_flags = load(yaml, o, env);
  INFO(all(with_flags));
  REQUIRE(with_flags.ok());
  const auto& c = with_flags.config;
  CHECK(c.infra.cert_email == "flag@example.com");
  CHECK(c.infra.cf_dns_api_token == "flagtoken");
  CHECK(c.infra.tcp_ports == std::vector<uint16_t>{143});
  CHECK(c.entry_points.count("tcp-143"));
  CHECK_FALSE(c.entry_points.count("tcp-25"));
  CHECK(c.entry_points.at("web").hosts == std::vector<std::string>{"198.51.100.7"});
  CHECK(c.log.level == "warn");
  CHECK(c.state_directory == "/srv/portier");
  CHECK(c.cert_resolvers.at("letsencrypt").storage == "/srv/portier/acme.json");
  REQUIRE(c.docker);
  CHECK(c.docker->endpoints == std::vector<std::string>{"unix:///tmp/d.sock"});

  Overrides bad;
  bad.public_ipv4 = "not-an-ip";
  bad.tcp_ports = std::vector<uint16_t>{0};
  auto b = load("", bad);
  CHECK(has(b, "--public-ipv4", "invalid IPv4"));
  CHECK(has(b, "--tcp-ports", "out of range"));
}

TEST_CASE("environment aliases and token files") {
  const char* yaml = "infra:\n  cert_email: a@example.com\n";
  auto alias = load(yaml, {}, {{"CLOUDFLARE_DNS_API_TOKEN", "cftok"}});
  REQUIRE(alias.ok());
  CHECK(alias.config.infra.cf_dns_api_token == "cftok");
  CHECK(alias.config.cert_resolvers.count("letsencrypt"));
  auto both = load(yaml, {}, {{"CLOUDFLARE_DNS_API_TOKEN", "b"}, {"CF_DNS_API_TOKEN", "a"}});
  CHECK(both.config.infra.cf_dns_api_token == "a");
  auto empty = load(yaml, {}, {{"CF_DNS_API_TOKEN", ""}});
  CHECK(empty.config.infra.cf_dns_api_token.empty());
  CHECK_FALSE(empty.config.cert_resolvers.count("letsencrypt"));

  const std::string dir = temp_dir();
  write(dir + "/token", "  secret-from-file\n");
  auto from_yaml = load(std::string(yaml) + "  cf_dns_api_token_file: " + dir + "/token\n");
  INFO(all(from_yaml));
  REQUIRE(from_yaml.ok());
  CHECK(from_yaml.config.infra.cf_dns_api_token == "secret-from-file");

  write(dir + "/token2", "env-file-token");
  auto from_env = load(yaml, {}, {{"CF_DNS_API_TOKEN_FILE", dir + "/token2"}});
  REQUIRE(from_env.ok());
  CHECK(from_env.config.infra.cf_dns_api_token == "env-file-token");

  auto missing = load("infra:\n  cf_dns_api_token_file: " + dir + "/nope\n");
  CHECK(has(missing, "infra.cf_dns_api_token_file", "cannot read token file", 2));
  auto missing_env = load("", {}, {{"CF_DNS_API_TOKEN_FILE", dir + "/nope"}});
  CHECK(has(missing_env, "CF_DNS_API_TOKEN_FILE", "cannot read token file"));
  auto twice = load("infra:\n  cf_dns_api_token: x\n  cf_dns_api_token_file: /y\n");
  CHECK(has(twice, "infra.cf_dns_api_token_file", "not both", 3));
  // The token never appears in a problem.
  auto bad = load("infra:\n  cf_dns_api_token: \"has space\"\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(all(bad).find("has space") == std::string::npos);
}

TEST_CASE("examples/portier.example.yml loads") {
  std::string root = PORTIER_SOURCE_DIR;
  auto r = load_static_config_file(root + "/examples/portier.example.yml", {},
                                   {{"CF_DNS_API_TOKEN", "example-token"}});
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& c = r.config;
  CHECK(c.entry_points.count("websecure-v6"));
  CHECK(c.entry_points.count("tcp-993"));
  CHECK(c.entry_points.count("tcp-10010"));
  CHECK(c.entry_points.at("internal").tls_cert_resolver == "letsencrypt");
  CHECK(c.entry_points.at("syslog").protocol == EntryPoint::Protocol::udp);
  CHECK(c.access_log.enabled);
  REQUIRE(c.docker);
  CHECK(c.docker->endpoints.size() == 2);
}

TEST_CASE("empty blocks count as empty mappings") {
  auto r = load(
      "accessLog:\n"
      "entryPoints:\n"
      "  websecure:\n"
      "    address: \"localhost:8443\"\n"
      "    http:\n"
      "      tls:\n"
      "infra:\n"
      "global:\n");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.config.access_log.enabled);
  const auto& ws = r.config.entry_points.at("websecure");
  CHECK(ws.tls);
  CHECK(ws.hosts == std::vector<std::string>{"127.0.0.1"});
  CHECK(r.config.infra.enabled);
  CHECK(r.config.entry_points.count("web"));  // infra without addresses: web on all addresses
  auto wrong = load("entryPoints: [web]\n");
  CHECK(has(wrong, "entryPoints", "expected a mapping", 1));
}

TEST_CASE("ocsp: on by default, Traefik's `ocsp: {}` accepted, enabled: false turns it off") {
  CHECK(load("").config.ocsp_enabled);
  auto traefik = load("ocsp: {}\n");
  INFO(all(traefik));
  CHECK(traefik.ok());
  CHECK(traefik.config.ocsp_enabled);
  auto off = load("ocsp:\n  enabled: false\n");
  CHECK(off.ok());
  CHECK_FALSE(off.config.ocsp_enabled);
  auto over = load("ocsp:\n  responderOverrides: {a: b}\n");
  CHECK(has(over, "ocsp.responderOverrides", "not supported"));
}

// providers.docker: Traefik v3's keys (issue 18 item 4).
TEST_CASE("providers.docker options load, and bad ones are errors with their path") {
  auto ok = load("providers:\n  docker:\n    endpoint: tcp://127.0.0.1:2376\n    watch: false\n"
                 "    constraints: \"Label(`a`, `b`) && !LabelRegex(`c`, `^d`)\"\n"
                 "    useBindPortIP: true\n    allowEmptyServices: true\n    httpClientTimeout: 2s\n"
                 "    network: front\n    tls:\n      ca: /etc/ca.pem\n      cert: /etc/c.pem\n"
                 "      key: /etc/k.pem\n      insecureSkipVerify: true\n");
  INFO(all(ok));
  REQUIRE(ok.ok());
  const auto& d = *ok.config.docker;
  CHECK_FALSE(d.watch);
  CHECK(d.constraints == "Label(`a`, `b`) && !LabelRegex(`c`, `^d`)");
  CHECK(d.use_bind_port_ip);
  CHECK(d.allow_empty_services);
  CHECK(d.http_client_timeout == milliseconds(2000));
  CHECK(d.network == "front");
  REQUIRE(d.tls);
  CHECK(d.tls->ca == "/etc/ca.pem");
  CHECK(d.tls->cert == "/etc/c.pem");
  CHECK(d.tls->key == "/etc/k.pem");
  CHECK(d.tls->insecure_skip_verify);
  auto zero = load("providers:\n  docker:\n    httpClientTimeout: 0\n");
  CHECK(zero.config.docker->http_client_timeout == milliseconds(0));
  CHECK_FALSE(load("providers:\n  docker: {}\n").config.docker->http_client_timeout);

  auto bad = load("providers:\n  docker:\n    constraints: \"Host(`a`)\"\n    httpClientTimeout: -1s\n"
                  "    tls:\n      cert: /c.pem\n      caOptional: true\n    username: u\n");
  INFO(all(bad));
  CHECK(has(bad, "providers.docker.constraints", "not allowed in a constraint rule", 3));
  CHECK(has(bad, "providers.docker.httpClientTimeout", "invalid duration", 4));
  CHECK(has(bad, "providers.docker.tls", "set both cert and key"));
  CHECK(has(bad, "providers.docker.tls", "tcp:// endpoints only"));
  CHECK(has(bad, "providers.docker.tls.caOptional", "not supported"));
  CHECK(has(bad, "providers.docker.username", "not supported"));
  auto pem = load("providers:\n  docker:\n    endpoint: tcp://h:2376\n    tls:\n      ca: \"-----BEGIN CERTIFICATE-----\"\n");
  CHECK(has(pem, "providers.docker.tls.ca", "give the path of a PEM file"));
}

// The static file goes through the same UTF-8 check as the dynamic one (tests/fuzz/static_yaml_fuzz).
TEST_CASE("a static file that is not UTF-8 is a problem with its line", "[fuzz]") {
  auto r = load("entryPoints:\n  web:\n    address: \":80\"\n  w\xff:\n    address: \":81\"\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line == 4);
  CHECK(r.problems[0].message.find("not valid UTF-8") != std::string::npos);
}

TEST_CASE("keys match case-insensitively as in Traefik; unknown root keys and experimental.http3 are warnings") {
  auto r = load(
      "entrypoints:\n"                            // 1
      "  web:\n"                                  // 2
      "    ADDRESS: \":80\"\n"                    // 3
      "    http:\n"                               // 4
      "      redirections:\n"                     // 5
      "        entrypoint: {to: websecure, scheme: https}\n"  // 6
      "  websecure:\n"                            // 7
      "    address: \":443\"\n"                   // 8
      "    http: {tls: {certresolver: le}}\n"     // 9
      "    http3: {}\n"                           // 10
      "    transport: {respondingtimeouts: {readtimeout: 5s}}\n"  // 11
      "certificatesresolvers:\n"                  // 12
      "  le:\n"                                   // 13
      "    acme: {email: a@b.c, dnschallenge: {provider: cloudflare}}\n"  // 14
      "providers: {Docker: {ExposedByDefault: false}}\n"  // 15
      "experimental: {http3: true}\n"             // 16
      "serverTransport: {insecureSkipVerify: true}\n"  // 17
      "http: {routers: {}}\n",                    // 18
      {}, {{"CF_DNS_API_TOKEN", "t"}});
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& web = r.config.entry_points.at("web");
  CHECK(web.port == 80);
  REQUIRE(web.redirection);
  CHECK(web.redirection->to == "websecure");
  const auto& secure = r.config.entry_points.at("websecure");
  CHECK(secure.tls_cert_resolver == "le");
  CHECK(secure.read_timeout == milliseconds(5000));
  CHECK(r.config.cert_resolvers.count("le") == 1);
  REQUIRE(r.config.docker);
  CHECK_FALSE(r.config.docker->exposed_by_default);
  std::string warnings;
  for (const auto& w : r.warnings) warnings += w.to_string() + "\n";
  CHECK(warnings ==
        "serverTransport: unknown key, ignored (as Traefik ignores it) (line 17)\n"
        "http: unknown key, ignored (as Traefik ignores it) (line 18)\n"
        "experimental.http3: ignored: HTTP/3 is enabled per entrypoint (entryPoints.NAME.http3) (line 16)\n");
  REQUIRE(secure.http3);
  CHECK(secure.http3->advertised_port == 0);
  CHECK_FALSE(web.http3);

  auto bad = load("entryPoints:\n  web:\n    address: \":80\"\n    Address: \":81\"\n"
                  "    transport: {respondingTimeouts: {ReadTimeout: 5parsecs}}\n");
  INFO(all(bad));
  CHECK(has(bad, "entryPoints.web.Address", "duplicate key", 4));
  CHECK(has(bad, "entryPoints.web.transport.respondingTimeouts.ReadTimeout", "invalid duration", 5));
}

TEST_CASE("sections given as Go booleans, as Traefik decodes them") {
  auto r = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "  websecure: {address: \":443\", http: {tls: true}}\n"
      "providers: {docker: true}\n"
      "ping: True\n"
      "accessLog: true\n"
      "metrics: {prometheus: true}\n"
      "ocsp: false\n");
  INFO(all(r));
  REQUIRE(r.ok());
  REQUIRE(r.config.docker);
  CHECK(r.config.docker->endpoints == default_docker_endpoints());
  CHECK(r.config.entry_points.at("websecure").tls);
  CHECK(r.config.ping.enabled);
  CHECK(r.config.access_log.enabled);
  CHECK(r.config.prometheus.enabled);
  CHECK_FALSE(r.config.ocsp_enabled);

  auto off = load("infra: {public_ipv4: 203.0.113.5}\nproviders: {docker: false}\nping: false\n");
  INFO(all(off));
  REQUIRE(off.ok());
  CHECK_FALSE(off.config.docker);
  CHECK_FALSE(off.config.ping.enabled);

  auto bad = load("providers: {docker: yes}\n");
  CHECK(has(bad, "providers.docker", "expected a mapping, true or false", 1));
}

TEST_CASE("default_entry_points: the asDefault ones, else every non-UDP one") {
  auto marked = load(
      "entryPoints:\n"
      "  web: {address: \":80\", asDefault: true}\n"
      "  websecure: {address: \":443\", asDefault: true}\n"
      "  admin: {address: \":8080\"}\n"
      "  dns: {address: \":53/udp\", asDefault: true}\n");
  REQUIRE(marked.ok());
  CHECK(default_entry_points(marked.config) == std::vector<std::string>{"web", "websecure"});
  Dynamic dyn;
  dyn.http.routers["free@file"].rule = "Host(`a`)";
  dyn.http.routers["named@file"].entry_points = {"admin"};
  dyn.tcp.routers["t@file"].rule = "HostSNI(`*`)";
  assign_default_entry_points(dyn, marked.config);
  CHECK(dyn.http.routers["free@file"].entry_points == std::vector<std::string>{"web", "websecure"});
  CHECK(dyn.http.routers["named@file"].entry_points == std::vector<std::string>{"admin"});
  CHECK(dyn.tcp.routers["t@file"].entry_points == std::vector<std::string>{"web", "websecure"});

  auto none = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "  dns: {address: \":53/udp\"}\n");
  REQUIRE(none.ok());
  CHECK(default_entry_points(none.config) == std::vector<std::string>{"web"});
  Dynamic untouched;
  untouched.http.routers["free@file"].rule = "Host(`a`)";
  assign_default_entry_points(untouched, none.config);
  CHECK(untouched.http.routers["free@file"].entry_points.empty());  // empty already means all

  auto internal = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "  traefik: {address: \":8080\"}\n");
  REQUIRE(internal.ok());
  Dynamic dyn2;
  dyn2.http.routers["free@file"].rule = "Host(`a`)";
  assign_default_entry_points(dyn2, internal.config);  // Traefik never defaults to "traefik"
  CHECK(dyn2.http.routers["free@file"].entry_points == std::vector<std::string>{"web"});
}

TEST_CASE("serversTransport and tcpServersTransport: the default transports") {
  auto r = load(
      "serversTransport:\n"
      "  insecureSkipVerify: true\n"
      "  rootCAs: [/etc/ca.pem]\n"
      "  maxIdleConnsPerHost: 7\n"
      "  forwardingTimeouts: {dialTimeout: 2s, responseHeaderTimeout: 3s, idleConnTimeout: 4s}\n"
      "tcpServersTransport:\n"
      "  dialTimeout: 5s\n"
      "  dialKeepAlive: 6s\n"
      "  tls: {insecureSkipVerify: true, rootCAs: [/etc/tcp-ca.pem]}\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const ServersTransport& http = *r.config.servers_transport;
  CHECK(http.insecure_skip_verify);
  CHECK(http.root_cas == std::vector<std::string>{"/etc/ca.pem"});
  CHECK(http.max_idle_conns_per_host == 7);
  CHECK(http.dial_timeout == milliseconds(2000));
  CHECK(http.response_header_timeout == milliseconds(3000));
  CHECK(http.idle_conn_timeout == milliseconds(4000));
  const TcpServersTransport& tcp = r.config.tcp_servers_transport;
  CHECK(tcp.dial_timeout == milliseconds(5000));
  CHECK(tcp.dial_keep_alive == milliseconds(6000));
  CHECK(tcp.tls->insecure_skip_verify);
  CHECK(tcp.tls->root_cas == std::vector<std::string>{"/etc/tcp-ca.pem"});

  auto none = load("log: {level: info}\n");
  CHECK_FALSE(none.config.servers_transport);
  CHECK(none.config.tcp_servers_transport.dial_timeout == milliseconds(30000));
  CHECK_FALSE(none.config.tcp_servers_transport.tls);

  auto bad = load(
      "serversTransport:\n"                 // 1
      "  spiffe: {}\n"                      // 2
      "  forwardingTimeouts:\n"             // 3
      "    pingTimeout: 1s\n"               // 4
      "tcpServersTransport:\n"              // 5
      "  terminationDelay: 1s\n"            // 6
      "  tls: {spiffe: {}, serverName: a}\n");  // 7
  INFO(all(bad));
  CHECK(has(bad, "serversTransport.spiffe", "not supported", 2));
  CHECK(has(bad, "serversTransport.forwardingTimeouts.pingTimeout", "not supported", 4));
  CHECK(has(bad, "tcpServersTransport.terminationDelay", "not supported", 6));
  CHECK(has(bad, "tcpServersTransport.tls.spiffe", "not supported", 7));
  CHECK(has(bad, "tcpServersTransport.tls.serverName", "unknown key", 7));
}

TEST_CASE("acme: httpChallenge, tlsChallenge, eab, preferredChain, certificatesDuration") {
  auto r = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "certificatesResolvers:\n"
      "  http:\n"
      "    acme:\n"
      "      httpChallenge: {entryPoint: web, delay: 2s}\n"
      "      preferredChain: ISRG Root X1\n"
      "      certificatesDuration: 24\n"
      "      eab: {kid: k1, hmacEncoded: c2VjcmV0}\n"
      "  alpn:\n"
      "    acme:\n"
      "      tlsChallenge: {}\n"
      "  alpn2:\n"
      "    acme:\n"
      "      tlsChallenge: true\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& http = r.config.cert_resolvers.at("http");
  REQUIRE(http.http_challenge);
  CHECK(http.http_challenge->entry_point == "web");
  CHECK(http.http_challenge->delay == std::chrono::seconds(2));
  CHECK_FALSE(http.tls_challenge);
  CHECK(http.preferred_chain == "ISRG Root X1");
  CHECK(http.certificates_duration == 24);
  REQUIRE(http.eab);
  CHECK(http.eab->kid == "k1");
  CHECK(http.eab->hmac_encoded == "c2VjcmV0");
  CHECK(r.config.cert_resolvers.at("alpn").tls_challenge);
  CHECK(r.config.cert_resolvers.at("alpn").certificates_duration == 2160);
  CHECK(r.config.cert_resolvers.at("alpn2").tls_challenge);

  auto bad = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "  udp: {address: \":53/udp\"}\n"
      "certificatesResolvers:\n"
      "  a:\n"
      "    acme:\n"
      "      httpChallenge: {}\n"
      "      certificatesDuration: 0\n"
      "      eab: {kid: k1}\n"
      "  b:\n"
      "    acme:\n"
      "      httpChallenge: {entryPoint: udp}\n"
      "      tlsChallenge: false\n"
      "      clientTimeout: 10s\n");
  INFO(all(bad));
  CHECK(has(bad, "certificatesResolvers.a.acme.httpChallenge.entryPoint", "required"));
  CHECK(has(bad, "certificatesResolvers.a.acme.certificatesDuration", ""));
  CHECK(has(bad, "certificatesResolvers.a.acme.eab", "both required"));
  CHECK(has(bad, "certificatesResolvers.b.acme.httpChallenge.entryPoint", "does not serve HTTP"));
  CHECK(has(bad, "certificatesResolvers.b.acme.clientTimeout", "not supported"));
}
