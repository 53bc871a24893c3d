// libFuzzer target: the access-control middlewares' parsers of outside input: htpasswd and
// htdigest text (usersFile), the Authorization header (Basic and Digest), address ranges (sourceRange, excludedIPs) and the
// client address strategies over X-Forwarded-For. Built by tests/fuzz/CMakeLists.txt, run by
// tests/fuzz/run.sh and ctest's fuzz.access.
// Input: lines; the first selects the strategy depth (its length % 5), the second is the
// X-Forwarded-For value, the third the Authorization value, the rest a users file and, split at
// commas, a sourceRange. Checks: no crash, what is accepted is self-consistent.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proxy/htdigest.hpp"
#include "proxy/htpasswd.hpp"
#include "proxy/ip_strategy.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace portier;
using portier::fuzz::next_line;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view depth_line = next_line(in);
  std::string_view xff = next_line(in);
  std::string_view authorization = next_line(in);

  if (auto creds = proxy::parse_basic_authorization(authorization)) {
    if (creds->user.find(':') != std::string::npos) std::abort();  // the first colon splits
  }

  if (auto digest = proxy::parse_digest_authorization(authorization)) {
    for (const auto& [key, value] : *digest)
      if (key.empty() || key.find_first_of(" ,=\"") != std::string::npos) std::abort();
  }

  proxy::HtdigestUsers digest_users;
  std::string digest_error;
  if (proxy::parse_htdigest(in, digest_users, &digest_error)) {
    for (const auto& [name_realm, hash] : digest_users)
      if (std::count(name_realm.begin(), name_realm.end(), ':') != 1 || hash.find(':') != std::string::npos)
        std::abort();
  } else if (digest_error.empty()) {
    std::abort();
  }

  proxy::HtpasswdUsers users;
  std::string error;
  if (proxy::parse_htpasswd(in, users, &error)) {
    for (const auto& [name, hash] : users)
      if (name.find(':') != std::string::npos || hash.find(':') != std::string::npos) std::abort();
  } else if (error.empty()) {
    std::abort();
  }

  std::vector<std::string> entries;
  for (size_t start = 0; start < in.size() && entries.size() < 64;) {
    size_t comma = in.find(',', start);
    if (comma == in.npos) comma = in.size();
    entries.emplace_back(in.substr(start, comma - start));
    start = comma + 1;
  }
  auto ranges = proxy::IpRanges::parse(entries, &error);
  if (ranges) {
    (void)ranges->contains(xff);
    for (const auto& e : entries) {
      auto slash = e.find('/');
      // An accepted plain address (no prefix length, no spaces around) contains itself.
      if (slash == std::string::npos && e.find_first_of(" \t\r") == std::string::npos && !ranges->contains(e))
        std::abort();
    }
  }

  config::IpStrategy spec;
  spec.depth = static_cast<int>(depth_line.size() % 5);
  if (spec.depth == 0 && !entries.empty()) spec.excluded_ips = entries;
  if (depth_line.size() % 3 == 1) spec.ipv6_subnet = static_cast<int>(depth_line.size() % 130);
  if (auto strategy = proxy::IpStrategy::make(spec, &error)) {
    std::string ip = strategy->client_ip("127.0.0.1", xff);
    if (ip.size() > xff.size() + 64) std::abort();
  }
  (void)proxy::ipv6_subnet_ip(xff, 1 + static_cast<int>(size % 128));
  return 0;
}
