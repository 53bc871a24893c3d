#include "proxy/htpasswd.hpp"

#include <cctype>

#include "tls/base64.hpp"

namespace portier::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Traefik splits on every ':' and wants exactly two parts.
bool add_entry(std::string_view entry, HtpasswdUsers& users) {
  auto colon = entry.find(':');
  if (colon == entry.npos || entry.find(':', colon + 1) != entry.npos) return false;
  users.insert_or_assign(std::string(entry.substr(0, colon)), std::string(entry.substr(colon + 1)));
  return true;
}

}  // namespace

bool for_each_user_line(std::string_view text, std::string_view expected,
                        const std::function<bool(std::string_view)>& add, std::string* error) {
  size_t line_no = 0;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == text.npos) nl = text.size();
    std::string_view line = trim(text.substr(start, nl - start));
    start = nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (!add(line)) {
      *error = "line " + std::to_string(line_no) + ": expected " + std::string(expected);
      return false;
    }
  }
  return true;
}

bool parse_htpasswd(std::string_view text, HtpasswdUsers& users, std::string* error) {
  return for_each_user_line(text, "name:hash", [&](std::string_view line) { return add_entry(line, users); },
                            error);
}

bool parse_htpasswd_list(const std::vector<std::string>& entries, HtpasswdUsers& users,
                         std::string* error) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!add_entry(entries[i], users)) {
      *error = "users[" + std::to_string(i) + "]: expected name:hash";
      return false;
    }
  }
  return true;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view value) {
  constexpr std::string_view kPrefix = "basic ";
  if (value.size() < kPrefix.size()) return std::nullopt;
  for (size_t i = 0; i < kPrefix.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(value[i]))) != kPrefix[i])
      return std::nullopt;
  auto decoded = tls::base64_decode(value.substr(kPrefix.size()));
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

}  // namespace portier::proxy
