#pragma once
// The circuitBreaker middleware's `expression` (oxy's predicate language, as Traefik reads it):
//   NetworkErrorRatio() > 0.5
//   ResponseCodeRatio(500, 600, 0, 600) > 0.25 || LatencyAtQuantileMS(50.0) > 100
// Comparisons (== != < <= > >=) of a function call or a number with another; && (binding
// tighter) and || between comparisons; parentheses. Functions: NetworkErrorRatio(),
// ResponseCodeRatio(fromA, toA, fromB, toB) (codes in [fromA, toA) over codes in
// [fromB, toB), 0 when none of the latter), LatencyAtQuantileMS(quantile 0-100),
// RequestThreshold() (the requests counted). Parsed once per configuration; a bad expression is
// an error naming the position. Evaluated against a window of BreakerStats.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portier::proxy {

// What the circuit breaker counted over its window.
struct BreakerStats {
  static constexpr int kLatencyBuckets = 256;  // 8 per power of two of microseconds, up to ~1 h
  uint64_t total = 0;
  uint64_t network_errors = 0;  // answered 502 or 504
  std::array<uint64_t, 600> by_status{};
  std::array<uint64_t, kLatencyBuckets> latency{};
  static int latency_bucket(uint64_t micros);
  void add(int status, uint64_t micros);
  void merge(const BreakerStats& other);
  double network_error_ratio() const;
  double response_code_ratio(int from_a, int to_a, int from_b, int to_b) const;
  // The upper bound of the bucket that holds the quantile (0 without samples), in ms.
  double latency_at_quantile_ms(double quantile) const;
};

class BreakerExpression {
 public:
  // The expression, or nullopt with *error ("at position N: ...").
  static std::optional<BreakerExpression> parse(std::string_view text, std::string* error);
  bool eval(const BreakerStats& stats) const;

 private:
  enum class Op : uint8_t { number, call, eq, ne, lt, le, gt, ge, and_, or_ };
  enum class Fn : uint8_t { network_error_ratio, response_code_ratio, latency_at_quantile, requests };
  struct Node {
    Op op = Op::number;
    double value = 0;  // number
    Fn fn = Fn::requests;  // call
    std::array<double, 4> args{};
    int lhs = -1, rhs = -1;
  };
  double value(int node, const BreakerStats& s) const;
  bool truth(int node, const BreakerStats& s) const;
  friend class BreakerParser;

  std::vector<Node> nodes_;
  int root_ = -1;
};

}  // namespace portier::proxy
