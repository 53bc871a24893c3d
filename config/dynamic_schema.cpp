#include "config/dynamic_schema.hpp"

#include <algorithm>
#include <utility>

namespace portier::config {

std::string read_scalar(std::string_view text, std::string& out, const Opt& o) {
  if (o.choices && !text.empty() &&
      std::find(o.choices->begin(), o.choices->end(), text) == o.choices->end()) {
    std::string all;
    for (auto c : *o.choices) all += (all.empty() ? "" : ", ") + std::string(c);
    return "invalid value \"" + std::string(text) + "\" (one of " + all + ")";
  }
  out = text;
  return {};
}

std::string read_scalar(std::string_view text, bool& out, const Opt&) { return read_bool(text, out); }

std::string read_scalar(std::string_view text, int& out, const Opt& o) {
  IntRange r = o.range;
  r.min = std::max<int64_t>(r.min, INT32_MIN);
  r.max = std::min<int64_t>(r.max, INT32_MAX);
  int64_t v = 0;
  auto e = read_int(text, r, v);
  if (e.empty()) out = static_cast<int>(v);
  return e;
}

std::string read_scalar(std::string_view text, int64_t& out, const Opt& o) {
  return read_int(text, o.range, out);
}

std::string read_scalar(std::string_view text, Millis& out, const Opt& o) {
  std::string_view t = trim(text);
  if (!(o.flags & kNegative) || !t.starts_with('-')) return read_duration(text, out);
  std::string error = read_duration(t.substr(1), out);
  out = -out;
  return error;
}

std::string format_duration(Millis ms) {
  const auto n = ms.count();
  if (n != 0 && n % 1000 == 0) return std::to_string(n / 1000) + "s";
  return n == 0 ? "0s" : std::to_string(n) + "ms";
}

std::string_view unsupported_middleware(std::string_view name) {
  for (std::string_view t : kUnsupportedMiddlewares)
    if (iequals(name, t)) return t;
  return {};
}

}  // namespace portier::config
