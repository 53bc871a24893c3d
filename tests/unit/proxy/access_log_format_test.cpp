#include "proxy/access_log_format.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "proxy/metrics_shard.hpp"
#include "proxy/observability.hpp"
#include "tests/unit/proxy/access_log_sample.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

using Sample = test::AccessLogSample;

config::AccessLogConfig keep_headers(config::AccessLogConfig::Format format) {
  config::AccessLogConfig cfg;
  cfg.enabled = true;
  cfg.format = format;
  cfg.headers_default = config::AccessLogConfig::HeaderMode::keep;
  cfg.header_names["Authorization"] = config::AccessLogConfig::HeaderMode::redact;
  return cfg;
}

}  // namespace

TEST_CASE("common and genericCLF lines are Traefik's") {
  Sample s;
  std::string line;
  AccessLogFormat(keep_headers(config::AccessLogConfig::Format::common)).append(s.r, 7, line);
  CHECK(line ==
        "127.0.0.9 - - [01/May/2024:10:20:30 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 401 17 "
        "\"http://r.test/\" \"curl/8 \\\"q\\\"\" 7 \"app@file\" \"http://127.0.0.2:9000\" 12ms\n");
  line.clear();
  AccessLogFormat(keep_headers(config::AccessLogConfig::Format::generic_clf)).append(s.r, 7, line);
  CHECK(line ==
        "127.0.0.9 - - [01/May/2024:10:20:30 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 401 17 "
        "\"http://r.test/\" \"curl/8 \\\"q\\\"\"\n");
  // Headers are dropped by default (Traefik's fields.headers.defaultMode): "-" "-".
  config::AccessLogConfig plain;
  line.clear();
  AccessLogFormat(plain).append(s.r, 7, line);
  CHECK(line.find("401 17 \"-\" \"-\" 7 ") != std::string::npos);
}

TEST_CASE("JSON lines carry Traefik's fields, sorted as Go writes a map") {
  Sample s;
  s.r.tls = true;
  s.r.tls_version = "1.3";
  s.r.tls_cipher = "TLS_AES_128_GCM_SHA256";
  s.r.http_version = 20;
  std::string line;
  AccessLogFormat(keep_headers(config::AccessLogConfig::Format::json)).append(s.r, 7, line);
  REQUIRE(line.back() == '\n');
  auto j = nlohmann::json::parse(line);
  CHECK(j["ClientAddr"] == "127.0.0.9:40000");
  CHECK(j["ClientHost"] == "127.0.0.9");
  CHECK(j["ClientPort"] == "40000");
  CHECK(j["ClientUsername"] == "-");
  CHECK(j["DownstreamStatus"] == 401);
  CHECK(j["DownstreamContentSize"] == 17);
  CHECK(j["Duration"] == 12000000);
  CHECK(j["OriginStatus"] == 401);
  CHECK(j["OriginDuration"] == 10000000);
  CHECK(j["Overhead"] == 2000000);
  CHECK(j["RequestAddr"] == "app.test:8080");
  CHECK(j["RequestHost"] == "app.test");
  CHECK(j["RequestPort"] == "8080");
  CHECK(j["RequestMethod"] == "GET");
  CHECK(j["RequestPath"] == "/a b?x=1");
  CHECK(j["RequestProtocol"] == "HTTP/2.0");
  CHECK(j["RequestScheme"] == "https");
  CHECK(j["RequestCount"] == 7);
  CHECK(j["RequestContentSize"] == 3);
  CHECK(j["RetryAttempts"] == 0);
  CHECK(j["RouterName"] == "app@file");
  CHECK(j["ServiceName"] == "app@file");
  CHECK(j["ServiceURL"] == "http://127.0.0.2:9000");
  CHECK(j["ServiceAddr"] == "127.0.0.2:9000");
  CHECK(j["StartUTC"] == "2024-05-01T10:20:30.123456789Z");
  CHECK(j["TLSVersion"] == "1.3");
  CHECK(j["TLSCipher"] == "TLS_AES_128_GCM_SHA256");
  CHECK(j["entryPointName"] == "web");
  CHECK(j["level"] == "info");
  CHECK(j["msg"] == "");
  CHECK(j["request_User-Agent"] == "curl/8 \"q\"");
  CHECK(j["request_Authorization"] == "REDACTED");
  CHECK(j.contains("time"));
  // Keys in byte order, as encoding/json writes a map.
  std::vector<std::string> keys;
  auto ordered = nlohmann::ordered_json::parse(line);
  for (const auto& item : ordered.items()) keys.push_back(item.key());
  CHECK(keys.size() == j.size());
  CHECK(std::is_sorted(keys.begin(), keys.end()));
}

TEST_CASE("JSON time is the request's end, in the local zone of StartLocal") {
  Sample s;
  AccessLogFormat format(keep_headers(config::AccessLogConfig::Format::json));
  for (auto duration : {std::chrono::milliseconds(12), std::chrono::milliseconds(900)}) {
    s.r.duration = duration;
    std::string line;
    format.append(s.r, 1, line);
    auto j = nlohmann::json::parse(line);
    std::string local = j["StartLocal"];  // 2024-05-01T10:20:30.123456789 + zone
    std::string second = duration.count() == 12 ? "30" : "31";
    CHECK(j["time"] == local.substr(0, 17) + second + local.substr(29));
  }
}

TEST_CASE("JSON start times trim the fraction's zeros as RFC3339Nano does") {
  Sample s;
  AccessLogFormat format(keep_headers(config::AccessLogConfig::Format::json));
  for (auto [nanos, text] : {std::pair<long, std::string>{500000000, ".5"}, {120, ".00000012"}, {0, ""}}) {
    s.r.start = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(1714558830) + std::chrono::nanoseconds(nanos)));
    std::string line;
    format.append(s.r, 1, line);
    CHECK(nlohmann::json::parse(line)["StartUTC"] == "2024-05-01T10:20:30" + text + "Z");
  }
}

TEST_CASE("router and service fields follow each record's snapshot, not what the thread wrote before") {
  Sample s;
  std::string router = "app@file", url = "http://127.0.0.2:9000";
  s.r.router = router;
  s.r.server_url = url;
  AccessLogFormat format(keep_headers(config::AccessLogConfig::Format::json));
  auto line_of = [&](const AccessLogFormat& f) {
    std::string line;
    f.append(s.r, 1, line);
    return nlohmann::json::parse(line);
  };
  s.r.generation = 7;
  CHECK(line_of(format)["RouterName"] == "app@file");
  router[0] = 'b';  // the same address and size, another name: a new snapshot's
  url.back() = '1';
  s.r.generation = 8;
  auto j = line_of(format);
  CHECK(j["RouterName"] == "bpp@file");
  CHECK(j["ServiceURL"] == "http://127.0.0.2:9001");
  router[0] = 'c';  // generation 0 (no snapshot known) is never taken from the table
  s.r.generation = 0;
  CHECK(line_of(format)["RouterName"] == "cpp@file");
  s.r.generation = 8;
  s.r.served = false;
  j = line_of(format);
  CHECK(j["RouterName"] == "cpp@file");
  CHECK_FALSE(j.contains("ServiceURL"));
  s.r.served = true;
  config::AccessLogConfig cfg = keep_headers(config::AccessLogConfig::Format::json);
  cfg.field_names["routername"] = false;
  j = line_of(AccessLogFormat(cfg));
  CHECK_FALSE(j.contains("RouterName"));
  CHECK(j["ServiceName"] == "app@file");
}

TEST_CASE("a local reply has no service fields; fields can be dropped") {
  Sample s;
  s.r.served = false;
  s.r.router = "";
  s.r.origin_status = 0;
  s.r.status = 404;
  config::AccessLogConfig cfg;
  cfg.format = config::AccessLogConfig::Format::json;
  cfg.fields_keep_default = false;
  cfg.field_names["downstreamstatus"] = true;
  std::string line;
  AccessLogFormat(cfg).append(s.r, 1, line);
  auto j = nlohmann::json::parse(line);
  CHECK(j["DownstreamStatus"] == 404);
  CHECK_FALSE(j.contains("ClientHost"));
  CHECK_FALSE(j.contains("RouterName"));
  CHECK(j.contains("level"));
}

TEST_CASE("JSON strings are escaped as Go does, invalid UTF-8 replaced") {
  std::string out;
  append_json_string(out, std::string("a\"\\\n<&>\x01\xff\xe2\x80\xa8 \xc3\xa9", 15));
  CHECK(out == "\"a\\\"\\\\\\n\\u003c\\u0026\\u003e\\u0001\\ufffd\\u2028 \xc3\xa9\"");
}

TEST_CASE("JSON escaping finds a byte to escape at any position of a long string") {
  // The plain prefix is scanned 16 bytes at a time: each special byte at each offset of the
  // first two blocks and the tail must still be escaped.
  for (char special : {'"', '\\', '<', '>', '&', '\x01', '\x1f', '\x7f', '\x80', '\xff'}) {
    for (size_t at = 0; at < 40; ++at) {
      std::string s(40, 'x');
      s[at] = special;
      std::string expected;
      append_json_string(expected, s.substr(0, at));
      std::string rest;
      append_json_string(rest, s.substr(at));
      expected.pop_back();
      expected += rest.substr(1);
      std::string out;
      append_json_string(out, s);
      CHECK(out == expected);
      CHECK(out != "\"" + s + "\"");
    }
  }
}

TEST_CASE("a long user name of characters to escape fits the line's room") {
  // The user name is the client's (basicAuth): its escaped form (6 bytes per control byte)
  // must be counted in the room reserved for the line.
  Sample s;
  std::string user(8000, '\x01');
  s.r.client_username = user;
  config::AccessLogConfig cfg;
  cfg.format = config::AccessLogConfig::Format::json;
  std::string line;
  AccessLogFormat(cfg).append(s.r, 1, line);
  CHECK(nlohmann::json::parse(line)["ClientUsername"] == user);
}

TEST_CASE("filters keep a line when any filter matches") {
  Sample s;
  config::AccessLogConfig cfg;
  cfg.status_codes = {{500, 599}};
  cfg.min_duration = std::chrono::milliseconds(100);
  AccessLogFormat f(cfg);
  CHECK_FALSE(f.keep(s.r));  // 401 in 12 ms
  s.r.status = 502;
  CHECK(f.keep(s.r));
  s.r.status = 200;
  s.r.duration = std::chrono::milliseconds(150);
  CHECK(f.keep(s.r));
  CHECK(AccessLogFormat(config::AccessLogConfig{}).keep(s.r));
}

TEST_CASE("metrics of every worker are summed at scrape, with Traefik's names") {
  config::StaticConfig cfg;
  cfg.prometheus.enabled = true;
  cfg.prometheus.routers = true;
  cfg.entry_points["web"].name = "web";
  Observability obs(cfg, {"web"}, 2);
  Sample s;
  s.r.duration = std::chrono::milliseconds(200);
  obs.worker(0).record(s.r);
  obs.worker(1).record(s.r);
  s.r.status = 200;
  obs.worker(1).record(s.r);
  std::string text = obs.render_metrics();
  INFO(text);
  CHECK(text.find("traefik_entrypoint_requests_total{code=\"401\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 2\n") != std::string::npos);
  CHECK(text.find("traefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 1\n") != std::string::npos);
  CHECK(text.find("traefik_router_requests_total{code=\"401\",method=\"GET\",protocol=\"http\",router=\"app@file\",service=\"app@file\"} 2\n") != std::string::npos);
  CHECK(text.find("traefik_service_requests_total{code=\"401\",method=\"GET\",protocol=\"http\",service=\"app@file\"} 2\n") != std::string::npos);
  CHECK(text.find("traefik_entrypoint_request_duration_seconds_bucket{code=\"401\",entrypoint=\"web\",method=\"GET\",protocol=\"http\",le=\"0.1\"} 0\n") != std::string::npos);
  CHECK(text.find("traefik_entrypoint_request_duration_seconds_bucket{code=\"401\",entrypoint=\"web\",method=\"GET\",protocol=\"http\",le=\"0.3\"} 2\n") != std::string::npos);
  CHECK(text.find("traefik_entrypoint_request_duration_seconds_count{code=\"401\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 2\n") != std::string::npos);
  CHECK(text.find("traefik_entrypoint_responses_bytes_total{code=\"401\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 34\n") != std::string::npos);
  CHECK(text.find("# TYPE traefik_entrypoint_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("traefik_open_connections{entrypoint=\"web\",protocol=\"TCP\"} 0\n") != std::string::npos);
}
