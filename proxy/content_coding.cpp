#include "proxy/content_coding.hpp"

#include <algorithm>
#include <charconv>

#include "proxy/http1_parser.hpp"

namespace portier::proxy {
namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

// One parameter value: a token or a quoted string (backslash escapes). *rest gets what follows.
std::optional<std::string> param_value(std::string_view s, std::string_view* rest) {
  if (s.empty() || s.front() != '"') {
    size_t end = s.find(';');
    std::string_view v = trim_ows(s.substr(0, end));
    *rest = end == std::string_view::npos ? std::string_view() : s.substr(end);
    if (!is_token(v)) return std::nullopt;
    return std::string(v);
  }
  std::string out;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else if (s[i] == '"') {
      *rest = trim_ows(s.substr(i + 1));
      if (!rest->empty() && rest->front() != ';') return std::nullopt;
      return out;
    } else {
      out += s[i];
    }
  }
  return std::nullopt;  // unterminated
}

struct Candidate {
  std::string_view name;
  double weight;
  int rank;  // ties: lower first
};

}  // namespace

std::optional<MediaType> parse_media_type(std::string_view text) {
  size_t semi = text.find(';');
  std::string_view type = trim_ows(text.substr(0, semi));
  size_t slash = type.find('/');
  if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
      !is_token(type.substr(slash + 1)))
    return std::nullopt;
  MediaType out{lower(type), {}};
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : text.substr(semi);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // ';'
    rest = trim_ows(rest);
    if (rest.empty()) break;  // a trailing ';' is tolerated, as Go does
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = trim_ows(rest.substr(0, eq));
    if (!is_token(name)) return std::nullopt;
    auto value = param_value(trim_ows(rest.substr(eq + 1)), &rest);
    if (!value) return std::nullopt;
    std::string key = lower(name);
    for (const auto& [k, v] : out.params)
      if (k == key) return std::nullopt;  // a duplicate parameter, as Go rejects it
    out.params.emplace_back(std::move(key), std::move(*value));
  }
  return out;
}

bool media_type_matches(const MediaType& pattern, const MediaType& actual) {
  if (pattern.type != actual.type) return false;
  if (pattern.params.empty()) return true;
  if (pattern.params.size() != actual.params.size()) return false;
  for (const auto& p : pattern.params)
    if (std::find(actual.params.begin(), actual.params.end(), p) == actual.params.end()) return false;
  return true;
}

std::string negotiate_encoding(const std::vector<std::string_view>& lines,
                               const std::vector<std::string>& encodings,
                               std::string_view default_encoding) {
  if (lines.empty()) return std::string(default_encoding);
  if (lines.size() == 1 && trim_ows(lines[0]).empty()) return {};
  const int identity_rank = static_cast<int>(encodings.size());
  auto rank_of = [&](std::string_view name) -> std::optional<int> {
    if (name == "*") return -1;
    if (iequals(name, "identity")) return identity_rank;
    for (size_t i = 0; i < encodings.size(); ++i)
      if (iequals(name, encodings[i])) return static_cast<int>(i);
    return std::nullopt;
  };
  std::optional<Candidate> best;
  for (std::string_view line : lines) {
    while (!line.empty()) {
      size_t comma = line.find(',');
      std::string_view item = line.substr(0, comma);
      line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
      size_t semi = item.find(';');
      std::string_view name = trim_ows(item.substr(0, semi));
      auto rank = rank_of(name);
      if (!rank) continue;
      double weight = 1.0;
      if (semi != std::string_view::npos) {
        std::string_view param = trim_ows(item.substr(semi + 1));
        if (param.starts_with("q=")) {
          param = trim_ows(param.substr(2));
          weight = 0;  // unparsable counts as 0, as in Traefik
          std::from_chars(param.data(), param.data() + param.size(), weight);
          if (weight == 0) continue;
        }
      }
      Candidate c{name, weight, *rank};
      if (!best || c.weight > best->weight || (c.weight == best->weight && c.rank < best->rank))
        best = c;
    }
  }
  if (!best || best->rank == identity_rank) return {};
  if (best->name == "*")
    return default_encoding.empty() ? (encodings.empty() ? std::string() : encodings[0])
                                     : std::string(default_encoding);
  return encodings[static_cast<size_t>(best->rank)];
}

}  // namespace portier::proxy
