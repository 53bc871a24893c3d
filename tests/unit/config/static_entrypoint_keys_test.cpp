#include <catch2/catch.hpp>

#include "tests/unit/config/static_load_util.hpp"

// The keys of entryPoints.NAME on HTTP entrypoints: proxyProtocol, http3, http2, reusePort,
// allowACMEByPass, asDefault, path and query handling, header size, keep-alive, accept grace.
using namespace portier::config;
using namespace portier::config::test;
using std::chrono::milliseconds;

TEST_CASE("entryPoints.NAME.proxyProtocol: trustedIPs or insecure, checked as Traefik does") {
  auto r = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    proxyProtocol:\n"
      "      trustedIPs: [\"10.0.0.5\", \"192.168.0.0/16\", \"::1\"]\n"
      "  tcp-25:\n"
      "    address: \":25\"\n"
      "    proxyProtocol: {insecure: true}\n");
  INFO(all(r));
  REQUIRE(r.problems.empty());
  const auto& web = r.config.entry_points.at("web");
  REQUIRE(web.proxy_protocol);
  CHECK(web.proxy_protocol->trusted_ips == std::vector<std::string>{"10.0.0.5", "192.168.0.0/16", "::1"});
  CHECK_FALSE(web.proxy_protocol->insecure);
  CHECK(r.config.entry_points.at("tcp-25").proxy_protocol->insecure);
  CHECK_FALSE(r.config.entry_points.at("tcp-25").trusted_ips.size());

  auto bad = load(
      "entryPoints:\n"                          // 1
      "  web:\n"                                // 2
      "    address: \":80\"\n"                  // 3
      "    proxyProtocol: {}\n"                 // 4
      "  web2:\n"                               // 5
      "    address: \":81\"\n"                  // 6
      "    proxyProtocol:\n"                    // 7
      "      trustedIPs: [\"10.0.0.300\"]\n"    // 8
      "      version: 2\n"                      // 9
      "  dns:\n"                                // 10
      "    address: \":53/udp\"\n"              // 11
      "    proxyProtocol: {insecure: true}\n");  // 12
  INFO(all(bad));
  CHECK(has(bad, "entryPoints.web.proxyProtocol.trustedIPs", "no trusted IPs provided", 4));
  CHECK(has(bad, "entryPoints.web2.proxyProtocol.trustedIPs[0]", "invalid IP or CIDR", 8));
  CHECK(has(bad, "entryPoints.web2.proxyProtocol.version", "unknown key", 9));
  CHECK(has(bad, "entryPoints.dns.proxyProtocol", "not allowed on a UDP entrypoint", 12));
}

TEST_CASE("entryPoints.NAME.http3: advertisedPort, and where it cannot apply") {
  auto r = load("entryPoints:\n  websecure:\n    address: \":443\"\n    http3: {advertisedPort: 8443}\n");
  INFO(all(r));
  REQUIRE(r.ok());
  REQUIRE(r.config.entry_points.at("websecure").http3);
  CHECK(r.config.entry_points.at("websecure").http3->advertised_port == 8443);

  auto bad = load(
      "entryPoints:\n"                                    // 1
      "  a:\n"                                            // 2
      "    address: \":443\"\n"                           // 3
      "    http3: {advertisedPort: -1, maxStreams: 5}\n"  // 4
      "  dns:\n"                                          // 5
      "    address: \":53/udp\"\n"                        // 6
      "    http3: {}\n"                                   // 7
      "  tcp-5432:\n"                                     // 8
      "    address: \":5432\"\n"                          // 9
      "    http3: {}\n");                                 // 10
  INFO(all(bad));
  CHECK(has(bad, "entryPoints.a.http3.advertisedPort", "", 4));
  CHECK(has(bad, "entryPoints.a.http3.maxStreams", "unknown key", 4));
  CHECK(has(bad, "entryPoints.dns.http3", "not supported on a tcp-* or UDP entrypoint", 7));
  CHECK(has(bad, "entryPoints.tcp-5432.http3", "not supported on a tcp-* or UDP entrypoint", 10));
}

TEST_CASE("entrypoint keys: http2.maxConcurrentStreams, reusePort and allowACMEByPass") {
  auto r = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    reusePort: true\n"
      "    allowACMEByPass: true\n"
      "    http2: {maxConcurrentStreams: 7}\n"
      "  zero:\n"
      "    address: \":81\"\n"
      "    http2: {maxConcurrentStreams: 0}\n"
      "  plain:\n"
      "    address: \":82\"\n");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.config.entry_points.at("web").http2_max_concurrent_streams == 7u);
  CHECK(r.config.entry_points.at("web").allow_acme_bypass);
  CHECK_FALSE(r.config.entry_points.at("plain").allow_acme_bypass);
  CHECK(r.config.entry_points.at("zero").http2_max_concurrent_streams == 250u);  // Go's default
  CHECK_FALSE(r.config.entry_points.at("plain").http2_max_concurrent_streams);

  auto bad = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    reusePort: maybe\n"
      "    http2: {maxConcurrentStreams: -1, maxFrameSize: 1}\n");
  INFO(all(bad));
  CHECK(has(bad, "entryPoints.web.reusePort", "invalid boolean", 4));
  CHECK(has(bad, "entryPoints.web.http2.maxConcurrentStreams", "", 5));
  CHECK(has(bad, "entryPoints.web.http2.maxFrameSize", "unknown key", 5));
}

TEST_CASE("entrypoint keys: asDefault, path and query, header size, keep-alive and accept grace") {
  auto r = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    asDefault: true\n"
      "    http: {sanitizePath: false, encodeQuerySemicolons: true, maxHeaderBytes: 2000}\n"
      "    transport:\n"
      "      keepAliveMaxRequests: 3\n"
      "      keepAliveMaxTime: 30s\n"
      "      lifeCycle: {requestAcceptGraceTimeout: 5s}\n"
      "  zero:\n"
      "    address: \":81\"\n"
      "    http: {maxHeaderBytes: 0}\n"
      "    transport: {keepAliveMaxRequests: -4}\n"
      "  plain:\n"
      "    address: \":82\"\n"
      "  secure:\n"
      "    address: \":443\"\n"
      "    http: {tls: {options: modern}}\n");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.config.entry_points.at("secure").tls);
  CHECK(r.config.entry_points.at("secure").tls_options == "modern");
  const EntryPoint& web = r.config.entry_points.at("web");
  CHECK(web.as_default);
  CHECK_FALSE(web.sanitize_path);
  CHECK(web.encode_query_semicolons);
  CHECK(web.max_header_bytes == size_t{2000});
  CHECK(web.keep_alive_max_requests == 3);
  CHECK(web.keep_alive_max_time == milliseconds(30000));
  CHECK(web.request_accept_grace == milliseconds(5000));
  const EntryPoint& zero = r.config.entry_points.at("zero");
  CHECK(zero.max_header_bytes == size_t{1} << 20);  // Go's DefaultMaxHeaderBytes
  CHECK(zero.keep_alive_max_requests == 0);         // <= 0: no limit
  const EntryPoint& plain = r.config.entry_points.at("plain");
  CHECK_FALSE(plain.as_default);
  CHECK(plain.sanitize_path);  // Traefik's default
  CHECK_FALSE(plain.encode_query_semicolons);
  CHECK_FALSE(plain.max_header_bytes);
  CHECK(plain.request_accept_grace == milliseconds(0));

  auto bad = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    asDefault: sometimes\n"
      "    http: {sanitizePath: 2, maxHeaderBytes: lots}\n"
      "    transport: {keepAliveMaxTime: soon}\n"
      "  secure:\n"
      "    address: \":443\"\n"
      "    http: {tls: {domains: [{main: a.example.com}]}}\n");
  INFO(all(bad));
  CHECK(has(bad, "entryPoints.secure.http.tls.domains", "has no effect without http.tls.certResolver", 9));
  CHECK(has(bad, "entryPoints.web.asDefault", "invalid boolean", 4));
  CHECK(has(bad, "entryPoints.web.http.sanitizePath", "", 5));
  CHECK(has(bad, "entryPoints.web.http.maxHeaderBytes", "", 5));
  CHECK(has(bad, "entryPoints.web.transport.keepAliveMaxTime", "", 6));
}
