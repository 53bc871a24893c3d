#include "acme/cloudflare_client.hpp"

#include <catch2/catch.hpp>

using namespace portier;

TEST_CASE("Cloudflare: success envelope yields the result") {
  auto r = acme::parse_cf_response(200, R"({"success":true,"errors":[],"messages":[],
      "result":[{"id":"023e105f4ecef8ad9ca31a8372d0c353","name":"example.com","status":"active"}],
      "result_info":{"page":1,"per_page":20,"count":1,"total_count":1}})");
  CHECK(r.success);
  CHECK(r.error.empty());
  REQUIRE(r.result.is_array());
  CHECK(r.result[0]["id"] == "023e105f4ecef8ad9ca31a8372d0c353");
}

TEST_CASE("Cloudflare: a bad token is reported with Cloudflare's message, not retried") {
  auto r = acme::parse_cf_response(403, R"({"success":false,"errors":[{"code":9109,"message":"Invalid access token"}],"messages":[],"result":null})");
  CHECK_FALSE(r.success);
  CHECK_FALSE(r.retryable);
  CHECK_THAT(r.error, Catch::Contains("token rejected or missing permission"));
  CHECK_THAT(r.error, Catch::Contains("9109 Invalid access token"));
}

TEST_CASE("Cloudflare: rate limits and server errors are retryable") {
  auto limited = acme::parse_cf_response(429, R"({"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]})");
  CHECK(limited.retryable);
  CHECK_THAT(limited.error, Catch::Contains("rate limited"));
  auto down = acme::parse_cf_response(502, "<html>bad gateway</html>");
  CHECK(down.retryable);
  CHECK_THAT(down.error, Catch::Contains("server error HTTP 502"));
}

TEST_CASE("Cloudflare: success=false with 200 and non-JSON bodies are errors") {
  auto r = acme::parse_cf_response(200, R"({"success":false,"errors":[{"code":81057,"message":"Record already exists."}]})");
  CHECK_FALSE(r.success);
  CHECK_FALSE(r.retryable);
  CHECK_THAT(r.error, Catch::Contains("81057 Record already exists."));
  auto junk = acme::parse_cf_response(200, "not json");
  CHECK_FALSE(junk.success);
  CHECK_THAT(junk.error, Catch::Contains("not JSON"));
  auto bad = acme::parse_cf_response(400, R"({"success":false,"errors":[{"code":1004,"message":"DNS Validation Error"}]})");
  CHECK_THAT(bad.error, Catch::Contains("HTTP 400"));
  CHECK_THAT(bad.error, Catch::Contains("1004 DNS Validation Error"));
}

TEST_CASE("Cloudflare: zone candidates walk up the name") {
  CHECK(acme::zone_candidates("_acme-challenge.a.b.example.com.") ==
        std::vector<std::string>{"_acme-challenge.a.b.example.com", "a.b.example.com", "b.example.com", "example.com"});
  CHECK(acme::zone_candidates("*.example.com") == std::vector<std::string>{"example.com"});
  CHECK(acme::zone_candidates("com").empty());
}

TEST_CASE("Cloudflare: results of any shape are read without throwing") {
  using Json = nlohmann::json;
  auto zone = acme::parse_zone_list(Json::parse(R"([{"id":"z1","name":"example.com"}])"), "x");
  REQUIRE(zone);
  CHECK(zone->id == "z1");
  CHECK(zone->name == "example.com");
  // A mistyped id once threw from nlohmann's value() and ended the ACME task.
  CHECK_FALSE(acme::parse_zone_list(Json::parse(R"([{"id":5,"name":"example.com"}])"), "x"));
  CHECK(acme::parse_zone_list(Json::parse(R"([{"id":"z2","name":[]}])"), "fallback.com")->name == "fallback.com");
  CHECK_FALSE(acme::parse_zone_list(Json::parse(R"({"id":"z1"})"), "x"));
  CHECK_FALSE(acme::parse_zone_list(Json::parse("[7]"), "x"));
  auto records = acme::parse_challenge_records(Json::parse(
      R"([{"id":"r1","name":"_acme-challenge.a.example.com","content":"v","comment":"c"},
          {"id":"r2","name":"www.example.com"}, 3, {"name":{"x":1}}])"));
  REQUIRE(records.size() == 1);
  CHECK(records[0].id == "r1");
  CHECK(records[0].content == "v");
  CHECK(acme::parse_record(Json::parse(R"({"id":1})")).id.empty());
}

TEST_CASE("Cloudflare: CF_HTTP_TIMEOUT sets the per-request timeout, as lego reads it") {
  std::string error;
  CHECK(acme::CloudflareClient::options_from_env("", &error).http.request_timeout == std::chrono::seconds(30));
  auto two = acme::CloudflareClient::options_from_env("2", &error);
  CHECK(error.empty());
  CHECK(two.http.request_timeout == std::chrono::seconds(2));
  CHECK(two.http.connect_timeout == std::chrono::seconds(2));
  for (const char* bad : {"2s", "0", "-1", "abc", "99999"}) {
    error.clear();
    CHECK(acme::CloudflareClient::options_from_env(bad, &error).http.request_timeout == std::chrono::seconds(30));
    CHECK_THAT(error, Catch::Contains("CF_HTTP_TIMEOUT"));
  }
}
