#include "config/value_parsers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace portier::config {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Nanoseconds per Go duration unit; 0 when unknown.
int64_t unit_nanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000000;
  if (unit == "s") return 1000000000;
  if (unit == "m") return 60LL * 1000000000;
  if (unit == "h") return 3600LL * 1000000000;
  return 0;
}

// Go's time.ParseDuration without sign handling; result in nanoseconds.
std::optional<long double> parse_go_duration(std::string_view s) {
  if (s == "0") return 0.0L;
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    std::string_view number = s.substr(0, i);
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      return std::nullopt;
    }
    size_t j = i;
    while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
    int64_t nanos = unit_nanos(s.substr(i, j - i));
    if (nanos == 0) return std::nullopt;
    total += std::stold(std::string(number)) * static_cast<long double>(nanos);  // digits and one '.'
    s.remove_prefix(j);
  }
  return total;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  text = trim(text);
  if (all_digits(text)) {
    if (text.size() > 12) return std::nullopt;
    int64_t seconds = 0;
    std::from_chars(text.data(), text.data() + text.size(), seconds);
    return std::chrono::milliseconds(seconds * 1000);
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto nanos = parse_go_duration(text);
  if (!nanos || *nanos > 1e18L) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*nanos / 1000000.0L));
}

std::optional<bool> parse_bool(std::string_view text) {
  text = trim(text);
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"})
    if (text == yes) return true;
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"})
    if (text == no) return false;
  return std::nullopt;
}

std::optional<int64_t> parse_int(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (!all_digits(text) || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::vector<std::string> split_comma_list(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        trim(text.substr(start, comma == text.npos ? text.npos : comma - start));
    if (!item.empty()) out.emplace_back(item);
    if (comma == text.npos) break;
    start = comma + 1;
  }
  return out;
}

std::string read_bool(std::string_view text, bool& out) {
  auto v = parse_bool(text);
  if (!v) return "invalid boolean " + quoted(text) + " (true or false)";
  out = *v;
  return {};
}

std::string read_int(std::string_view text, const IntRange& range, int64_t& out) {
  auto v = parse_int(text);
  if (!v) return std::string("invalid ") + range.what + " " + quoted(text);
  if (*v < range.min || *v > range.max)
    return std::string("invalid ") + range.what + " " + quoted(text) + ": out of range " +
           std::to_string(range.min) + ".." + std::to_string(range.max);
  out = *v;
  return {};
}

std::string read_duration(std::string_view text, std::chrono::milliseconds& out) {
  auto v = parse_duration(text);
  if (!v) return "invalid duration " + quoted(text) + " (e.g. 10s, 1m30s, 500ms, or seconds)";
  out = *v;
  return {};
}

std::optional<StatusRanges> parse_status_ranges(const std::vector<std::string>& items, std::string* error) {
  StatusRanges out;
  for (const auto& item : items) {
    std::string_view text = trim(item);
    size_t dash = text.find('-');
    std::string_view low = trim(text.substr(0, dash));
    std::string_view high = dash == std::string_view::npos ? low : trim(text.substr(dash + 1));
    auto a = all_digits(low) && low.size() == 3 ? parse_int(low) : std::nullopt;
    auto b = all_digits(high) && high.size() == 3 ? parse_int(high) : std::nullopt;
    if (!a || !b || *a < 100 || *b > 599 || *a > *b) {
      *error = "invalid status code range \"" + item + "\" (a code or a range such as 500-599)";
      return std::nullopt;
    }
    out.emplace_back(static_cast<int>(*a), static_cast<int>(*b));
  }
  return out;
}

bool in_status_ranges(const StatusRanges& ranges, int status) {
  for (const auto& [low, high] : ranges)
    if (status >= low && status <= high) return true;
  return false;
}

}  // namespace portier::config
