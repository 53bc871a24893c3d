#include "proxy/htdigest.hpp"

#include "config/http_token.hpp"
#include <openssl/evp.h>

#include <cctype>

#include "proxy/htpasswd.hpp"

namespace portier::proxy {
namespace {

// Traefik splits on every ':' and wants exactly three parts.
bool add_entry(std::string_view entry, HtdigestUsers& users) {
  auto first = entry.find(':');
  if (first == entry.npos) return false;
  auto second = entry.find(':', first + 1);
  if (second == entry.npos || entry.find(':', second + 1) != entry.npos) return false;
  users.insert_or_assign(std::string(entry.substr(0, second)), std::string(entry.substr(second + 1)));
  return true;
}

void skip_space(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

std::string_view take_token(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && config::is_tchar(s[n])) ++n;
  auto token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

// A quoted-string at the front of `s` (after its opening quote), unescaped; false if unclosed.
bool take_quoted(std::string_view& s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') {
      s.remove_prefix(i + 1);
      return true;
    }
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return false;
}

}  // namespace

bool parse_htdigest(std::string_view text, HtdigestUsers& users, std::string* error) {
  return for_each_user_line(text, "name:realm:hash", [&](std::string_view line) { return add_entry(line, users); },
                            error);
}

bool parse_htdigest_list(const std::vector<std::string>& entries, HtdigestUsers& users, std::string* error) {
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!add_entry(entries[i], users)) {
      *error = "users[" + std::to_string(i) + "]: expected name:realm:hash";
      return false;
    }
  }
  return true;
}

std::optional<std::map<std::string, std::string>> parse_digest_authorization(std::string_view value) {
  skip_space(value);
  auto scheme = take_token(value);
  if (scheme.size() != 6 || (value.empty() || (value.front() != ' ' && value.front() != '\t'))) return std::nullopt;
  for (size_t i = 0; i < 6; ++i)
    if (std::tolower(static_cast<unsigned char>(scheme[i])) != "digest"[i]) return std::nullopt;
  std::map<std::string, std::string> params;
  for (;;) {
    skip_space(value);
    std::string key(take_token(value));
    if (key.empty()) return std::nullopt;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    skip_space(value);
    if (value.empty() || value.front() != '=') return std::nullopt;
    value.remove_prefix(1);
    skip_space(value);
    std::string v;
    if (!value.empty() && value.front() == '"') {
      value.remove_prefix(1);
      if (!take_quoted(value, v)) return std::nullopt;
    } else {
      v = std::string(take_token(value));
    }
    if (!params.emplace(std::move(key), std::move(v)).second) return std::nullopt;
    skip_space(value);
    if (value.empty()) return params;
    if (value.front() != ',') return std::nullopt;
    value.remove_prefix(1);
  }
}

std::string md5_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_md5(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace portier::proxy
