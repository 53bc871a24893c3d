// Building the access-control middlewares: a bad value is an error naming the field (the router
// is dropped with it), never a middleware that lets everything through; ipAllowList's verdicts.
#include <catch2/catch.hpp>

#include "proxy/middleware.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {
std::string build_error(const config::MiddlewareSpec& spec) {
  std::string error;
  auto mw = make_middleware(spec, &error);
  return mw ? std::string("built") : error;
}
}  // namespace

TEST_CASE("access middlewares: bad values are errors naming the field", "[access]") {
  config::IpAllowListMw allow;
  CHECK(build_error(allow) == "sourceRange is empty");
  allow.source_range = {"10.0.0.0/33"};
  CHECK(build_error(allow) == "sourceRange: \"10.0.0.0/33\" is neither an IP address nor a CIDR");
  allow.source_range = {"::1"};
  allow.reject_status_code = 999;
  CHECK(build_error(allow) == "rejectStatusCode 999 is not an HTTP status");
  allow.reject_status_code = 0;
  CHECK(build_error(allow) == "built");
  config::BasicAuthMw auth;
  CHECK(build_error(auth) == "no users found");
  auth.users = {"nocolon"};
  CHECK(build_error(auth) == "users[0]: expected name:hash");
  auth.users.clear();
  auth.users_file = "/nonexistent/users";
  CHECK(build_error(auth) == "usersFile /nonexistent/users: cannot read it");
  config::SourceCriterion both;
  both.request_host = true;
  both.request_header_name = "X-Key";
  config::RateLimitMw rate;
  rate.average = 1;
  rate.source_criterion = both;
  CHECK(build_error(rate).find("mutually exclusive") != std::string::npos);
  rate.source_criterion.reset();
  rate.average = -1;
  CHECK(build_error(rate) == "average must not be negative");
  config::InFlightReqMw in_flight;
  CHECK(build_error(in_flight) == "amount must be greater than 0");
  in_flight.amount = 1;
  in_flight.source_criterion = both;
  CHECK(build_error(in_flight).find("mutually exclusive") != std::string::npos);
}

TEST_CASE("ipAllowList: the peer, or X-Forwarded-For only from a trusted peer", "[access]") {
  std::string error;
  config::IpAllowListMw spec;
  spec.source_range = {"203.0.113.0/24"};
  spec.ip_strategy.emplace().depth = 1;
  auto mw = make_middleware(spec, &error);
  REQUIRE(mw);
  RequestHead head;
  head.headers = {{"X-Forwarded-For", "203.0.113.5"}};
  RequestEdits edits;
  HeaderEdits response;
  RequestContext trusted{head, "/", false, "127.0.0.1", true};
  CHECK_FALSE(mw->on_request(trusted, edits, response));
  RequestContext untrusted{head, "/", false, "127.0.0.1", false};
  auto reply = mw->on_request(untrusted, edits, response);
  REQUIRE(reply);
  CHECK(reply->status == 403);
  CHECK(reply->body == "Forbidden");
}
