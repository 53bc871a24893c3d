#include "acme/acme_client.hpp"

#include <catch2/catch.hpp>

using namespace portier;

TEST_CASE("ACME problem documents become clear error texts") {
  auto p = acme::parse_problem(429, R"({"type":"urn:ietf:params:acme:error:rateLimited",
      "detail":"too many certificates already issued for exact set of domains","status":429})");
  CHECK(p.rate_limited());
  CHECK(acme::describe_problem(p) ==
        "CA error rateLimited (HTTP 429): too many certificates already issued for exact set of domains");

  auto sub = acme::parse_problem(400, R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order",
      "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"forbidden by policy","identifier":{"type":"dns","value":"x.example"}}]})");
  CHECK_FALSE(sub.rate_limited());
  CHECK_THAT(acme::describe_problem(sub), Catch::Contains("rejectedIdentifier"));
  CHECK_THAT(acme::describe_problem(sub), Catch::Contains("x.example: forbidden by policy"));

  auto html = acme::parse_problem(503, "<html>maintenance</html>");
  CHECK(acme::describe_problem(html) == "CA error (HTTP 503): <html>maintenance</html>");
}

TEST_CASE("Retry-After as seconds or HTTP-date") {
  CHECK(acme::parse_retry_after("") == std::chrono::seconds(0));
  CHECK(acme::parse_retry_after("120") == std::chrono::seconds(120));
  CHECK(acme::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == std::chrono::seconds(0));  // in the past
  CHECK(acme::parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT") > std::chrono::hours(24 * 365));
  CHECK(acme::parse_retry_after("soon") == std::chrono::seconds(0));
}

TEST_CASE("split_url separates origin and target") {
  std::string origin, target;
  REQUIRE(acme::split_url("https://127.0.0.1:14000/dir", origin, target));
  CHECK(origin == "https://127.0.0.1:14000");
  CHECK(target == "/dir");
  REQUIRE(acme::split_url("https://acme-v02.api.letsencrypt.org", origin, target));
  CHECK(target == "/");
  CHECK_FALSE(acme::split_url("ftp://x/y", origin, target));
  CHECK_FALSE(acme::split_url("https:///x", origin, target));
}

TEST_CASE("ACME order and authorization objects are read whatever their shape") {
  using Json = nlohmann::json;
  auto order = acme::parse_order(Json::parse(R"({"status":"pending","authorizations":["https://ca/a/1",2,"https://ca/a/2"],
      "finalize":"https://ca/f","certificate":7})"));
  CHECK(order.status == "pending");
  CHECK(order.authorizations == std::vector<std::string>{"https://ca/a/1", "https://ca/a/2"});
  CHECK(order.finalize == "https://ca/f");
  CHECK(order.certificate.empty());
  CHECK(acme::parse_order(Json::parse(R"({"authorizations":"https://ca/a/1"})")).authorizations.empty());

  auto authz = acme::parse_authorization(Json::parse(R"({"status":"pending","identifier":{"type":"dns","value":"a.example.com"},
      "challenges":[{"type":"http-01","url":"u1","token":"t1"},{"type":"dns-01","url":"u2","token":"t2"}]})"));
  CHECK(authz.domain == "a.example.com");
  REQUIRE(authz.challenges.size() == 2);
  REQUIRE(authz.challenge("dns-01"));
  CHECK(authz.challenge("dns-01")->url == "u2");
  CHECK(authz.challenge("dns-01")->token == "t2");
  CHECK(authz.challenge("http-01")->token == "t1");
  CHECK_FALSE(authz.challenge("tls-alpn-01"));
  auto odd = acme::parse_authorization(Json::parse(R"({"identifier":"a.example.com","challenges":{"type":"dns-01"}})"));
  CHECK(odd.domain.empty());
  CHECK(odd.challenges.empty());
  auto partial = acme::parse_authorization(Json::parse(R"({"challenges":[{"type":"http-01","url":"u"},{"type":7,"url":"u","token":"t"}]})"));
  CHECK(partial.challenges.empty());

  auto invalid = acme::object_problem(Json::parse(R"({"status":"invalid","error":{"detail":"order"},
      "challenges":[{"error":{"type":"urn:ietf:params:acme:error:dns","detail":"no TXT"}}]})"));
  CHECK(invalid.type == "urn:ietf:params:acme:error:dns");
  CHECK(invalid.detail == "no TXT");
  CHECK(acme::object_problem(Json::parse("[1]")).detail.empty());
}
