// Entrypoint keys that do nothing on a tcp-* (TCP routers only) or a UDP entrypoint are errors.
#include <catch2/catch.hpp>

#include "tests/unit/config/static_load_util.hpp"

using namespace portier::config;
using namespace portier::config::test;
using std::chrono::milliseconds;

TEST_CASE("entrypoint kinds: HTTP keys on a tcp-* entrypoint have no effect") {
  auto r = load(
      "entryPoints:\n"
      "  tcp-5432:\n"
      "    address: \":5432\"\n"
      "    http: {sanitizePath: false}\n"
      "    http2: {maxConcurrentStreams: 10}\n"
      "    forwardedHeaders: {insecure: true}\n"
      "    udp: {timeout: 5s}\n"
      "    transport:\n"
      "      keepAliveMaxRequests: 3\n"
      "      KeepAliveMaxTime: 1m\n"
      "      respondingTimeouts: {readTimeout: 5s, writeTimeout: 5s, idleTimeout: 30s}\n");
  INFO(all(r));
  const std::string kind = "has no effect on a TCP entrypoint (tcp-* entrypoints carry TCP routers only)";
  CHECK(has(r, "entryPoints.tcp-5432.http", kind, 4));
  CHECK(has(r, "entryPoints.tcp-5432.http2", kind, 5));
  CHECK(has(r, "entryPoints.tcp-5432.forwardedHeaders", kind, 6));
  CHECK(has(r, "entryPoints.tcp-5432.udp", kind, 7));
  CHECK(has(r, "entryPoints.tcp-5432.transport.keepAliveMaxRequests", kind, 9));
  CHECK(has(r, "entryPoints.tcp-5432.transport.KeepAliveMaxTime", kind, 10));
  CHECK(has(r, "entryPoints.tcp-5432.transport.respondingTimeouts.readTimeout", kind, 11));
  CHECK(has(r, "entryPoints.tcp-5432.transport.respondingTimeouts.writeTimeout", kind, 11));
  CHECK_FALSE(has(r, "entryPoints.tcp-5432.transport.respondingTimeouts.idleTimeout", ""));
  CHECK(r.problems.size() == 8);
}

TEST_CASE("entrypoint kinds: keys that act on a tcp-* entrypoint load") {
  auto r = load(
      "entryPoints:\n"
      "  tcp-5432:\n"
      "    address: \":5432\"\n"
      "    asDefault: true\n"
      "    allowACMEByPass: true\n"
      "    reusePort: true\n"
      "    proxyProtocol: {insecure: true}\n"
      "    transport:\n"
      "      respondingTimeouts: {idleTimeout: 30s}\n"
      "      lifeCycle: {graceTimeOut: 3s, requestAcceptGraceTimeout: 1s}\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const EntryPoint& ep = r.config.entry_points.at("tcp-5432");
  CHECK(ep.idle_timeout == milliseconds(30000));
  CHECK(ep.grace_timeout == milliseconds(3000));
  CHECK(ep.allow_acme_bypass);
}

TEST_CASE("entrypoint kinds: transport and HTTP keys on a UDP entrypoint have no effect") {
  auto r = load(
      "entryPoints:\n"
      "  dns:\n"
      "    address: \":53/udp\"\n"
      "    http2: {maxConcurrentStreams: 10}\n"
      "    forwardedHeaders: {trustedIPs: [10.0.0.1]}\n"
      "    allowACMEByPass: true\n"
      "    transport:\n"
      "      respondingTimeouts: {idleTimeout: 30s}\n"
      "      keepAliveMaxRequests: 3\n"
      "      keepAliveMaxTime: 1m\n"
      "  ok:\n"
      "    address: \":54/udp\"\n"
      "    asDefault: true\n"
      "    udp: {timeout: 5s}\n"
      "    transport: {lifeCycle: {graceTimeOut: 3s}}\n");
  INFO(all(r));
  const std::string kind = "has no effect on a UDP entrypoint";
  CHECK(has(r, "entryPoints.dns.http2", kind, 4));
  CHECK(has(r, "entryPoints.dns.forwardedHeaders", kind, 5));
  CHECK(has(r, "entryPoints.dns.allowACMEByPass", kind, 6));
  CHECK(has(r, "entryPoints.dns.transport.respondingTimeouts", kind, 8));
  CHECK(has(r, "entryPoints.dns.transport.keepAliveMaxRequests", kind, 9));
  CHECK(has(r, "entryPoints.dns.transport.keepAliveMaxTime", kind, 10));
  CHECK(r.problems.size() == 6);
  CHECK(r.config.entry_points.at("ok").udp_timeout == milliseconds(5000));
}

TEST_CASE("entrypoint kinds: udp on an HTTP entrypoint has no effect, HTTP keys load there") {
  auto r = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    udp: {timeout: 5s}\n"
      "    http2: {maxConcurrentStreams: 10}\n"
      "    forwardedHeaders: {insecure: true}\n"
      "    transport: {keepAliveMaxRequests: 3, respondingTimeouts: {readTimeout: 5s}}\n");
  INFO(all(r));
  CHECK(has(r, "entryPoints.web.udp", "has no effect on a TCP entrypoint", 4));
  CHECK(r.problems.size() == 1);
}
