#pragma once
// The value syntaxes of Traefik's configuration, shared by every reader: the static loader
// (through config/yaml_util.hpp), the dynamic YAML reader and the Docker label decoder (both
// through config/dynamic_schema.hpp). Pure functions of text; nothing here throws.
//
// The read_* forms return "" on success, else the message a user sees after the key, which
// quotes the value as written: `invalid boolean "yes" (true or false)`.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::config {

// ASCII case-insensitive equality (keys, as Traefik's loaders match them; no locale).
bool iequals(std::string_view a, std::string_view b);

// Traefik durations: a bare integer is seconds ("10"); otherwise Go's time.ParseDuration syntax,
// a sequence of decimal numbers with units h, m, s, ms, us/µs, ns ("1m30s", "500ms", "1.5s").
// Negative values are rejected; sub-millisecond remainders are truncated.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False (surrounding
// whitespace ignored). Nothing else: not "yes", not "on".
std::optional<bool> parse_bool(std::string_view text);

// A decimal int64 with an optional sign (surrounding whitespace ignored); no overflow.
std::optional<int64_t> parse_int(std::string_view text);

// "1".."65535", decimal digits only.
std::optional<uint16_t> parse_port(std::string_view text);

// "a, b,,c" -> {"a","b","c"}: trimmed, empty items dropped.
std::vector<std::string> split_comma_list(std::string_view text);

// Traefik's HTTP status code ranges ("500-599", "404"): inclusive pairs, or nullopt (*error set,
// naming the bad item) when an item is not a code or a range of codes 100-599.
using StatusRanges = std::vector<std::pair<int, int>>;
std::optional<StatusRanges> parse_status_ranges(const std::vector<std::string>& items, std::string* error);
bool in_status_ranges(const StatusRanges& ranges, int status);

// An integer's allowed range and what to call it in messages ("port", "size", ...).
struct IntRange {
  int64_t min = INT32_MIN;
  int64_t max = INT32_MAX;
  const char* what = "integer";
};
inline constexpr IntRange kAnyInt{};
inline constexpr IntRange kSize{0, INT64_MAX, "size"};           // bytes, seconds: >= 0
inline constexpr IntRange kSizeOrUnlimited{-1, INT64_MAX, "size (-1 = unlimited)"};
inline constexpr IntRange kCount{0, INT32_MAX, "integer"};        // >= 0
inline constexpr IntRange kPort{1, 65535, "port"};
inline constexpr IntRange kPortOrZero{0, 65535, "port"};          // 0 = unset
inline constexpr IntRange kWeight{0, 1000000, "weight"};
inline constexpr IntRange kHttpStatus{0, 599, "status code"};     // 0 = unset

// Text helpers the readers share.
bool all_digits(std::string_view s);               // non-empty, 0-9 only
std::string_view trim(std::string_view s);         // without surrounding whitespace

std::string read_bool(std::string_view text, bool& out);
std::string read_int(std::string_view text, const IntRange& range, int64_t& out);
std::string read_duration(std::string_view text, std::chrono::milliseconds& out);

}  // namespace portier::config
