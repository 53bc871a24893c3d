#include "proxy/ip_strategy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace portier::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool same_prefix(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b,
                 int bits) {
  int i = 0;
  for (; bits >= 8; bits -= 8, ++i)
    if (a[i] != b[i]) return false;
  if (bits == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits));
  return (a[i] & mask) == (b[i] & mask);
}

void mask_to(std::array<unsigned char, 16>& ip, int bits) {
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits - i * 8, 0, 8);
    ip[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

bool is_v4_mapped(const std::array<unsigned char, 16>& ip) {
  for (int i = 0; i < 10; ++i)
    if (ip[i] != 0) return false;
  return ip[10] == 0xff && ip[11] == 0xff;
}

}  // namespace

bool parse_ip16(std::string_view text, std::array<unsigned char, 16>& ip16) {
  if (text.empty() || text.size() > 63) return false;
  std::string s(text);
  if (auto pct = s.find('%'); pct != std::string::npos) {
    if (pct + 1 == s.size() || s.find(':') == std::string::npos) return false;  // "fe80::1%eth0"
    s.resize(pct);
  }
  if (s.find(':') == std::string::npos) {
    unsigned char v4[4];
    if (inet_pton(AF_INET, s.c_str(), v4) != 1) return false;
    ip16 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    return true;
  }
  return inet_pton(AF_INET6, s.c_str(), ip16.data()) == 1;
}

std::optional<IpRanges> IpRanges::parse(const std::vector<std::string>& entries,
                                        std::string* error) {
  IpRanges out;
  for (const auto& entry : entries) {
    std::string_view e = trim(entry);
    auto slash = e.find('/');
    Range r{};
    bool v4 = e.find(':') == std::string_view::npos;
    bool ok = parse_ip16(e.substr(0, slash), r.net) && e.substr(0, slash).find('%') == e.npos;
    r.bits = 128;
    if (ok && slash != std::string_view::npos) {
      auto digits = e.substr(slash + 1);
      int bits = -1;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
      ok = ec == std::errc() && p == digits.data() + digits.size() && !digits.empty() &&
           bits >= 0 && bits <= (v4 ? 32 : 128);
      r.bits = v4 ? 96 + bits : bits;
    }
    if (!ok) {
      *error = "\"" + std::string(entry) + "\" is neither an IP address nor a CIDR";
      return std::nullopt;
    }
    mask_to(r.net, r.bits);
    out.ranges_.push_back(r);
  }
  return out;
}

bool IpRanges::contains(const std::array<unsigned char, 16>& ip16) const {
  for (const auto& r : ranges_)
    if (same_prefix(r.net, ip16, r.bits)) return true;
  return false;
}

bool IpRanges::contains(std::string_view ip) const {
  std::array<unsigned char, 16> ip16;
  return parse_ip16(ip, ip16) && contains(ip16);
}

std::string forwarded_for(const RequestHead& head, bool trusted) {
  std::string out;
  if (!trusted) return out;
  for (const auto& h : head.headers) {
    if (!iequals(h.name, "X-Forwarded-For")) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

std::string ipv6_subnet_ip(std::string_view ip, int bits) {
  std::array<unsigned char, 16> ip16;
  if (!parse_ip16(ip, ip16) || ip.find(':') == std::string_view::npos || is_v4_mapped(ip16))
    return std::string(ip);
  mask_to(ip16, bits);
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, ip16.data(), text, sizeof text)) return std::string(ip);
  return text;
}

std::optional<IpStrategy> IpStrategy::make(const std::optional<config::IpStrategy>& spec,
                                           std::string* error) {
  IpStrategy s;
  if (!spec) return s;
  if (spec->ipv6_subnet < 0 || spec->ipv6_subnet > 128) {
    *error = "ipStrategy.ipv6Subnet " + std::to_string(spec->ipv6_subnet) +
             " is out of range (1 to 128)";
    return std::nullopt;
  }
  if (spec->depth < 0) {
    *error = "ipStrategy.depth must not be negative";
    return std::nullopt;
  }
  s.depth_ = spec->depth;
  if (spec->ipv6_subnet > 0) s.ipv6_subnet_ = spec->ipv6_subnet;
  if (s.depth_ == 0 && !spec->excluded_ips.empty()) {
    s.excluded_ = IpRanges::parse(spec->excluded_ips, error);
    if (!s.excluded_) {
      *error = "ipStrategy.excludedIPs: " + *error;
      return std::nullopt;
    }
    s.ipv6_subnet_.reset();  // Traefik's pool strategy does not mask
  }
  return s;
}

// Traefik: depth counts X-Forwarded-For entries from the right (fewer entries: no address);
// excludedIPs takes the rightmost non-empty entry outside the set; else the peer.
std::string IpStrategy::client_ip(std::string_view peer, std::string_view xff) const {
  std::string ip;
  if (depth_ > 0) {
    std::vector<std::string_view> parts;
    for (size_t start = 0;;) {
      size_t comma = xff.find(',', start);
      parts.push_back(xff.substr(start, comma == xff.npos ? xff.npos : comma - start));
      if (comma == xff.npos) break;
      start = comma + 1;
    }
    if (static_cast<int>(parts.size()) < depth_) return "";
    ip = trim(parts[parts.size() - depth_]);
  } else if (excluded_) {
    size_t end = xff.size();
    for (;;) {
      size_t comma = xff.rfind(',', end == 0 ? 0 : end - 1);
      bool first = comma == xff.npos || end == 0;
      std::string_view entry = trim(xff.substr(first ? 0 : comma + 1, first ? end : end - comma - 1));
      if (!entry.empty() && !excluded_->contains(entry)) return std::string(entry);
      if (first) return "";
      end = comma;
    }
  } else {
    ip = peer;
  }
  return ipv6_subnet_ ? ipv6_subnet_ip(ip, *ipv6_subnet_) : ip;
}

}  // namespace portier::proxy
