// CorsPolicy against the cases of Traefik v3's pkg/middlewares/headers/header_test.go that the
// e2e test (tests/e2e/test_headers_cors.py) does not reach: empty origins, unanchored regexes,
// list order, Vary edge cases.
#include <catch2/catch.hpp>

#include "proxy/cors_policy.hpp"

using namespace portier;
using proxy::CorsPolicy;

namespace {
std::string allow_origin(const proxy::HeaderList& fields) {
  for (const auto& [name, value] : fields)
    if (name == "Access-Control-Allow-Origin") return value;
  return "(none)";
}
}  // namespace

TEST_CASE("cors: origin matching as Traefik's matchOrigin", "[cors]") {
  config::HeadersMw spec;
  spec.access_control_allow_origin_list = {"https://a.test", "*"};
  spec.access_control_allow_origin_list_regex = {"b\\.test"};
  std::string error;
  auto cors = CorsPolicy::make(spec, &error);
  REQUIRE(cors);
  CHECK(cors->defined());
  CHECK(allow_origin(cors->response_fields("https://a.test")) == "https://a.test");
  CHECK(allow_origin(cors->response_fields("https://other.test")) == "*");
  CHECK(allow_origin(cors->response_fields("")) == "*");  // no Origin: the wildcard still answers

  spec.access_control_allow_origin_list = {};
  cors = CorsPolicy::make(spec, &error);
  REQUIRE(cors);
  CHECK(allow_origin(cors->response_fields("https://www.b.test.evil")) == "https://www.b.test.evil");  // unanchored
  CHECK(allow_origin(cors->response_fields("https://c.test")) == "(none)");

  spec.access_control_allow_origin_list = {"*"};
  spec.access_control_allow_credentials = true;
  cors = CorsPolicy::make(spec, &error);
  REQUIRE(cors);
  CHECK(allow_origin(cors->response_fields("https://c.test")) == "https://c.test");
  CHECK(allow_origin(cors->response_fields("")) == "");  // Traefik sets it empty
}

TEST_CASE("cors: defined by any CORS key, and a bad regex is an error", "[cors]") {
  std::string error;
  config::HeadersMw spec;
  CHECK_FALSE(CorsPolicy::make(spec, &error)->defined());
  spec.access_control_max_age = 0;
  CHECK(CorsPolicy::make(spec, &error)->defined());
  spec.access_control_allow_origin_list_regex = {"("};
  CHECK_FALSE(CorsPolicy::make(spec, &error));
  CHECK(error.find("accessControlAllowOriginListRegex") != std::string::npos);
}

TEST_CASE("cors: preflight detection and Vary", "[cors]") {
  CHECK(CorsPolicy::is_preflight("OPTIONS", "https://a.test", "GET"));
  CHECK_FALSE(CorsPolicy::is_preflight("OPTIONS", "", "GET"));
  CHECK_FALSE(CorsPolicy::is_preflight("OPTIONS", "https://a.test", ""));
  CHECK_FALSE(CorsPolicy::is_preflight("GET", "https://a.test", "GET"));
  CHECK(CorsPolicy::with_origin("") == "Origin");
  CHECK(CorsPolicy::with_origin("Origin") == "Origin");
  CHECK(CorsPolicy::with_origin("origin") == "origin,Origin");  // Traefik compares exactly
  CHECK(CorsPolicy::with_origin("Accept-Encoding") == "Accept-Encoding,Origin");
}
