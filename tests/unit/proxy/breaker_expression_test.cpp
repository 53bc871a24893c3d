#include <catch2/catch.hpp>

#include "proxy/breaker_expression.hpp"

using namespace portier::proxy;

namespace {
bool holds(std::string_view text, const BreakerStats& s) {
  std::string error;
  auto e = BreakerExpression::parse(text, &error);
  INFO(error);
  REQUIRE(e);
  return e->eval(s);
}
std::string error_of(std::string_view text) {
  std::string error;
  CHECK(!BreakerExpression::parse(text, &error));
  return error;
}
}  // namespace

TEST_CASE("circuitBreaker expressions evaluate over the counted answers") {
  BreakerStats s;
  for (int i = 0; i < 6; ++i) s.add(200, 1000);   // 1 ms
  for (int i = 0; i < 3; ++i) s.add(502, 50000);  // 50 ms
  s.add(500, 200000);                             // 200 ms
  CHECK(s.network_error_ratio() == Approx(0.3));
  CHECK(s.response_code_ratio(500, 600, 0, 600) == Approx(0.4));
  CHECK(s.response_code_ratio(500, 501, 400, 500) == 0);  // no answer in [400, 500): 0
  CHECK(holds("NetworkErrorRatio() > 0.25", s));
  CHECK(!holds("NetworkErrorRatio() > 0.5", s));
  CHECK(holds("ResponseCodeRatio(500, 600, 0, 600) >= 0.4 && RequestThreshold() == 10", s));
  CHECK(holds("NetworkErrorRatio() > 0.9 || LatencyAtQuantileMS(95) > 100", s));
  CHECK(!holds("LatencyAtQuantileMS(50.0) > 5", s));  // the median is 1 ms
  CHECK(holds("(NetworkErrorRatio() < 0.1 || 2 > 1) && 1 != 2", s));
  // The quantile is a bucket's upper bound: within 1/8 above the value.
  BreakerStats one;
  one.add(200, 80000);
  CHECK(one.latency_at_quantile_ms(50) >= 80.0);
  CHECK(one.latency_at_quantile_ms(50) <= 90.0);
}

TEST_CASE("bad circuitBreaker expressions name the position") {
  CHECK(error_of("NetworkErrorRatio() >") == "at position 22: expected a function, a number or \"(\"");
  CHECK(error_of("Latency(50) > 1") == "at position 1: unknown function \"Latency\"");
  CHECK(error_of("ResponseCodeRatio(500, 600) > 0") == "at position 27: ResponseCodeRatio takes 4 arguments");
  CHECK(error_of("NetworkErrorRatio()") == "the expression is not a comparison");
  CHECK(error_of("NetworkErrorRatio() > 1 > 2") == "at position 25: unexpected \">\"");
  CHECK(error_of("(1 > 0) > 2").find("a comparison cannot be compared") != std::string::npos);
  CHECK(error_of("1 > 0 && 2") == "at position 9: && joins comparisons");
  CHECK(error_of("(1 > 0") == "at position 7: expected \")\"");
  CHECK(error_of(std::string(100, '(') + "1>0" + std::string(100, ')')).find("too deeply nested") != std::string::npos);
}
