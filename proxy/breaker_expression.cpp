#include "proxy/breaker_expression.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <tuple>
#include <utility>

namespace portier::proxy {

int BreakerStats::latency_bucket(uint64_t micros) {
  if (micros < 1) micros = 1;
  int exponent = 63 - __builtin_clzll(micros);  // 2^exponent <= micros
  int sub = exponent >= 3 ? static_cast<int>((micros >> (exponent - 3)) & 7)
                          : static_cast<int>((micros << (3 - exponent)) & 7);
  return std::min(exponent * 8 + sub, kLatencyBuckets - 1);
}

void BreakerStats::add(int status, uint64_t micros) {
  ++total;
  if (status == 502 || status == 504) ++network_errors;
  if (status >= 0 && status < static_cast<int>(by_status.size())) ++by_status[static_cast<size_t>(status)];
  ++latency[static_cast<size_t>(latency_bucket(micros))];
}

void BreakerStats::merge(const BreakerStats& o) {
  total += o.total;
  network_errors += o.network_errors;
  for (size_t i = 0; i < by_status.size(); ++i) by_status[i] += o.by_status[i];
  for (size_t i = 0; i < latency.size(); ++i) latency[i] += o.latency[i];
}

double BreakerStats::network_error_ratio() const {
  return total == 0 ? 0 : static_cast<double>(network_errors) / static_cast<double>(total);
}

double BreakerStats::response_code_ratio(int from_a, int to_a, int from_b, int to_b) const {
  uint64_t a = 0, b = 0;
  for (int code = 0; code < static_cast<int>(by_status.size()); ++code) {
    uint64_t n = by_status[static_cast<size_t>(code)];
    if (code >= from_a && code < to_a) a += n;
    if (code >= from_b && code < to_b) b += n;
  }
  return b == 0 ? 0 : static_cast<double>(a) / static_cast<double>(b);
}

double BreakerStats::latency_at_quantile_ms(double quantile) const {
  uint64_t count = 0;
  for (auto n : latency) count += n;
  if (count == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(std::clamp(quantile, 0.0, 100.0) / 100.0 * static_cast<double>(count)));
  uint64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += latency[static_cast<size_t>(i)];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      double upper = std::ldexp(1.0 + ((i % 8) + 1) / 8.0, i / 8);  // the bucket's upper bound, µs
      return upper / 1000.0;
    }
  }
  return 0;
}

// A recursive-descent parser over the expression text.
class BreakerParser {
 public:
  BreakerParser(std::string_view text, BreakerExpression& out) : s_(text), out_(out) {}

  bool run(std::string* error) {
    int root = disjunction();
    skip();
    if (root >= 0 && pos_ != s_.size()) fail("unexpected \"" + std::string(s_.substr(pos_, 1)) + "\"");
    if (!error_.empty()) {
      *error = "at position " + std::to_string(error_pos_ + 1) + ": " + error_;
      return false;
    }
    if (!is_bool(root)) {
      *error = "the expression is not a comparison";
      return false;
    }
    out_.root_ = root;
    return true;
  }

 private:
  using Op = BreakerExpression::Op;
  using Fn = BreakerExpression::Fn;

  int fail(std::string why) {
    if (error_.empty()) {
      error_ = std::move(why);
      error_pos_ = pos_;
    }
    return -1;
  }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  bool take(std::string_view token) {
    skip();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  bool is_bool(int node) const {
    if (node < 0) return false;
    Op op = out_.nodes_[static_cast<size_t>(node)].op;
    return op != Op::number && op != Op::call;
  }
  int add(BreakerExpression::Node n) {
    if (out_.nodes_.size() > 1000) return fail("the expression is too long");
    out_.nodes_.push_back(n);
    return static_cast<int>(out_.nodes_.size() - 1);
  }
  int binary(Op op, int lhs, int rhs) {
    if (lhs < 0 || rhs < 0) return -1;
    BreakerExpression::Node n;
    n.op = op;
    n.lhs = lhs;
    n.rhs = rhs;
    return add(n);
  }

  int disjunction() {
    int lhs = conjunction();
    while (lhs >= 0 && take("||")) {
      size_t at = pos_;
      int rhs = conjunction();
      if (rhs >= 0 && (!is_bool(lhs) || !is_bool(rhs))) {
        pos_ = at;
        return fail("|| joins comparisons");
      }
      lhs = binary(Op::or_, lhs, rhs);
    }
    return lhs;
  }
  int conjunction() {
    int lhs = comparison();
    while (lhs >= 0 && take("&&")) {
      size_t at = pos_;
      int rhs = comparison();
      if (rhs >= 0 && (!is_bool(lhs) || !is_bool(rhs))) {
        pos_ = at;
        return fail("&& joins comparisons");
      }
      lhs = binary(Op::and_, lhs, rhs);
    }
    return lhs;
  }
  int comparison() {
    int lhs = primary();
    if (lhs < 0) return -1;
    static constexpr std::pair<std::string_view, Op> kOps[] = {
        {"==", Op::eq}, {"!=", Op::ne}, {"<=", Op::le}, {">=", Op::ge}, {"<", Op::lt}, {">", Op::gt}};
    for (const auto& [token, op] : kOps) {
      if (!take(token)) continue;
      if (is_bool(lhs)) return fail("a comparison cannot be compared");
      int rhs = primary();
      if (rhs >= 0 && is_bool(rhs)) return fail("a comparison cannot be compared");
      return binary(op, lhs, rhs);
    }
    return lhs;
  }
  int primary() {
    if (++depth_ > 64) return fail("too deeply nested");
    int node = primary_inner();
    --depth_;
    return node;
  }
  int primary_inner() {
    skip();
    if (take("(")) {
      int inner = disjunction();
      if (inner >= 0 && !take(")")) return fail("expected \")\"");
      return inner;
    }
    if (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.'))
      return number();
    return call();
  }
  int number() {
    double v = 0;
    auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
    if (ec != std::errc() || !std::isfinite(v)) return fail("invalid number");
    pos_ = static_cast<size_t>(end - s_.data());
    BreakerExpression::Node n;
    n.value = v;
    return add(n);
  }
  int call() {
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    std::string_view name = s_.substr(start, pos_ - start);
    static constexpr std::tuple<std::string_view, Fn, size_t> kFns[] = {
        {"NetworkErrorRatio", Fn::network_error_ratio, 0},
        {"ResponseCodeRatio", Fn::response_code_ratio, 4},
        {"LatencyAtQuantileMS", Fn::latency_at_quantile, 1},
        {"RequestThreshold", Fn::requests, 0}};
    for (const auto& [fname, fn, arity] : kFns) {
      if (name != fname) continue;
      BreakerExpression::Node n;
      n.op = Op::call;
      n.fn = fn;
      if (!take("(")) return fail("expected \"(\" after " + std::string(name));
      for (size_t i = 0; i < arity; ++i) {
        if (i > 0 && !take(",")) return fail(std::string(name) + " takes " + std::to_string(arity) + " arguments");
        skip();
        double v = 0;
        auto [end, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), v);
        if (ec != std::errc() || !std::isfinite(v))
          return fail(std::string(name) + " takes " + std::to_string(arity) + " numbers");
        pos_ = static_cast<size_t>(end - s_.data());
        n.args[i] = v;
      }
      if (!take(")")) return fail(std::string(name) + " takes " + std::to_string(arity) + " arguments");
      return add(n);
    }
    pos_ = start;
    if (name.empty()) return fail("expected a function, a number or \"(\"");
    return fail("unknown function \"" + std::string(name) + "\"");
  }

  std::string_view s_;
  BreakerExpression& out_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
  size_t error_pos_ = 0;
};

std::optional<BreakerExpression> BreakerExpression::parse(std::string_view text, std::string* error) {
  BreakerExpression e;
  BreakerParser parser(text, e);
  if (!parser.run(error)) return std::nullopt;
  return e;
}

namespace {
// A status code argument (finite, checked by the parser), within the codes counted.
int code_arg(double v) { return static_cast<int>(std::clamp(v, -1.0, 1000.0)); }
}  // namespace

double BreakerExpression::value(int node, const BreakerStats& s) const {
  const Node& n = nodes_[static_cast<size_t>(node)];
  if (n.op == Op::number) return n.value;
  switch (n.fn) {
    case Fn::network_error_ratio:
      return s.network_error_ratio();
    case Fn::response_code_ratio:
      return s.response_code_ratio(code_arg(n.args[0]), code_arg(n.args[1]), code_arg(n.args[2]),
                                   code_arg(n.args[3]));
    case Fn::latency_at_quantile:
      return s.latency_at_quantile_ms(n.args[0]);
    case Fn::requests:
      return static_cast<double>(s.total);
  }
  return 0;
}

bool BreakerExpression::truth(int node, const BreakerStats& s) const {
  const Node& n = nodes_[static_cast<size_t>(node)];
  switch (n.op) {
    case Op::and_:
      return truth(n.lhs, s) && truth(n.rhs, s);
    case Op::or_:
      return truth(n.lhs, s) || truth(n.rhs, s);
    case Op::eq:
      return value(n.lhs, s) == value(n.rhs, s);
    case Op::ne:
      return value(n.lhs, s) != value(n.rhs, s);
    case Op::lt:
      return value(n.lhs, s) < value(n.rhs, s);
    case Op::le:
      return value(n.lhs, s) <= value(n.rhs, s);
    case Op::gt:
      return value(n.lhs, s) > value(n.rhs, s);
    case Op::ge:
      return value(n.lhs, s) >= value(n.rhs, s);
    default:
      return false;
  }
}

bool BreakerExpression::eval(const BreakerStats& stats) const { return truth(root_, stats); }

}  // namespace portier::proxy
