#include "config/observability_loader.hpp"
#include "config/http_token.hpp"

#include <catch2/catch.hpp>

#include "config/static_loader.hpp"

using namespace portier::config;

namespace {

StaticLoadResult load(const std::string& yaml) { return load_static_config_text(yaml, "test.yml", {}, {}); }

bool has(const StaticLoadResult& r, const std::string& path, const std::string& text) {
  for (const auto& p : r.problems)
    if (p.path == path && p.message.find(text) != std::string::npos) return true;
  return false;
}

std::string all(const StaticLoadResult& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

}  // namespace

TEST_CASE("the observability blocks of Traefik's documentation load with their defaults") {
  auto r = load(R"(entryPoints:
  web:
    address: ":80"
ping: {}
metrics:
  prometheus: {}
accessLog: {}
log:
  level: DEBUG
  filePath: /var/log/portier.log
  format: json
)");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& c = r.config;
  CHECK(c.ping.enabled);
  CHECK(c.ping.entry_point == "traefik");
  CHECK(c.ping.terminating_status == 503);
  CHECK(c.prometheus.enabled);
  CHECK(c.prometheus.buckets == std::vector<double>{0.1, 0.3, 1.2, 5.0});
  CHECK(c.prometheus.entry_points);
  CHECK(c.prometheus.services);
  CHECK_FALSE(c.prometheus.routers);
  CHECK(c.access_log.enabled);
  CHECK(c.access_log.format == AccessLogConfig::Format::common);
  CHECK(c.access_log.headers_default == AccessLogConfig::HeaderMode::drop);
  CHECK(c.log.file_path == "/var/log/portier.log");
  CHECK(c.log.level == "debug");
  // As Traefik: the internal entrypoint `traefik` on :8080 when ping or metrics use it.
  REQUIRE(c.entry_points.count("traefik"));
  CHECK(c.entry_points.at("traefik").port == 8080);
}

TEST_CASE("accessLog keys: formats, filters, fields") {
  auto r = load(R"(accessLog:
  filePath: /tmp/a.log
  format: genericCLF
  bufferingSize: 100
  addInternals: true
  filters:
    statusCodes: ["200", "300-302"]
    retryAttempts: true
    minDuration: 10ms
  fields:
    defaultMode: drop
    names:
      ClientHost: keep
      StartUTC: drop
    headers:
      defaultMode: redact
      names:
        user-agent: keep
        Authorization: drop
    queryParameters:
      defaultMode: drop
)");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& a = r.config.access_log;
  CHECK(a.format == AccessLogConfig::Format::generic_clf);
  CHECK(a.buffering_size == 100);
  CHECK(a.add_internals);
  CHECK(a.status_codes == std::vector<std::pair<int, int>>{{200, 200}, {300, 302}});
  CHECK(a.retry_attempts);
  CHECK(a.min_duration == std::chrono::milliseconds(10));
  CHECK_FALSE(a.fields_keep_default);
  CHECK(a.field_names.at("clienthost"));
  CHECK_FALSE(a.field_names.at("startutc"));
  CHECK(a.headers_default == AccessLogConfig::HeaderMode::redact);
  CHECK(a.header_names.at("User-Agent") == AccessLogConfig::HeaderMode::keep);
  CHECK(a.header_names.at("Authorization") == AccessLogConfig::HeaderMode::drop);
  CHECK_FALSE(a.keep_query);
}

TEST_CASE("bad observability values are errors naming their path") {
  auto r = load(R"(entryPoints:
  web:
    address: ":80"
accessLog:
  format: apache
  filters:
    statusCodes: ["2xx"]
  fields:
    headers:
      defaultMode: hide
  otlp: {}
metrics:
  statsD: {}
  prometheus:
    entryPoint: nowhere
    buckets: [1, 0.5]
    manualRouting: true
    headerLabels: {ok: X-Ok, 1bad: X-A, code: X-B, __x: X-C, sp: "X B"}
ping:
  manualRouting: true
  terminatingStatusCode: 42
  entryPoint: web
log:
  maxSize: 10
)");
  CHECK(has(r, "accessLog.format", "invalid format \"apache\""));
  CHECK(has(r, "accessLog.filters.statusCodes", "invalid status code range \"2xx\""));
  CHECK(has(r, "accessLog.fields.headers.defaultMode", "invalid mode \"hide\""));
  CHECK(has(r, "accessLog.otlp", "not supported"));
  CHECK(has(r, "metrics.statsD", "not supported"));
  CHECK(has(r, "metrics.prometheus.buckets", "invalid bucket \"0.5\""));
  CHECK(r.config.prometheus.manual_routing);  // routers name prometheus@internal
  CHECK(has(r, "metrics.prometheus.headerLabels.1bad", "invalid label name \"1bad\""));
  CHECK(has(r, "metrics.prometheus.headerLabels.__x", "invalid label name \"__x\""));
  CHECK(has(r, "metrics.prometheus.headerLabels.code", "already a label of the request series"));
  CHECK(has(r, "metrics.prometheus.headerLabels.sp", "invalid header name \"X B\""));
  CHECK(r.config.prometheus.header_labels == std::map<std::string, std::string>{{"ok", "X-Ok"}});
  CHECK(has(r, "metrics.prometheus.entryPoint", "entrypoint \"nowhere\" does not exist"));
  CHECK(r.config.ping.manual_routing);
  CHECK(has(r, "ping.terminatingStatusCode", ""));
  CHECK(has(r, "log.maxSize", "not supported"));
  // No `traefik` entrypoint was needed: none is added.
  CHECK_FALSE(r.config.entry_points.count("traefik"));
}

TEST_CASE("status ranges and canonical header names") {
  CHECK(parse_status_range("404") == std::pair{404, 404});
  CHECK(parse_status_range("500-599") == std::pair{500, 599});
  CHECK_FALSE(parse_status_range(""));
  CHECK_FALSE(parse_status_range("5xx"));
  CHECK_FALSE(parse_status_range("1-"));
  CHECK(canonical_header_name("user-agent") == "User-Agent");
  CHECK(canonical_header_name("X-FORWARDED-FOR") == "X-Forwarded-For");
}

TEST_CASE("api: dashboard, insecure (the `traefik` entrypoint), dashboardName; basePath and debug refused") {
  auto r = load("api:\n  insecure: true\n  dashboard: false\n  dashboardName: edge\n  disableDashboardAd: true\n");
  REQUIRE(r.ok());
  CHECK(r.config.api.enabled);
  CHECK(r.config.api.insecure);
  CHECK_FALSE(r.config.api.dashboard);
  CHECK(r.config.api.dashboard_name == "edge");
  REQUIRE(r.config.entry_points.count("traefik"));
  CHECK(r.config.entry_points.at("traefik").port == 8080);
  auto plain = load("api: {}\n");
  REQUIRE(plain.ok());
  CHECK(plain.config.api.dashboard);
  CHECK_FALSE(plain.config.entry_points.count("traefik"));  // not insecure: no entrypoint of its own
  CHECK_FALSE(load("ping: {}\n").config.api.enabled);
  auto bad = load("api:\n  basePath: /traefik\n  debug: true\n");
  CHECK(has(bad, "api.basePath", "not supported"));
  CHECK(has(bad, "api.debug", "not supported"));
  CHECK(load("api:\n  basePath: /\n").ok());
}
