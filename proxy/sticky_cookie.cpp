#include "proxy/sticky_cookie.hpp"

#include <openssl/sha.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace portier::proxy {
namespace {

std::string hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

// Go's hash/fnv New64 (FNV-1, not FNV-1a), printed by strconv.FormatUint(h, 16): no padding.
std::string fnv1_64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h * 1099511628211ull) ^ c;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

StickyTarget::StickyTarget(std::string_view target_name) : name(target_name) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  value = hex(digest, 8);
  fnv = fnv1_64(name);
  fnv_fnv = fnv1_64(fnv);
}

std::string sticky_cookie_name(std::string_view configured, std::string_view service) {
  if (!configured.empty()) {
    std::string out(configured);
    for (char& c : out)
      if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("!#$%&'*+-.^`|~", c)) c = '_';
    return out;
  }
  std::string data = "_TRAEFIK_BACKEND_";
  data += service;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return "_" + hex(digest, 3).substr(0, 5);
}

}  // namespace portier::proxy
