#pragma once
// Client-address selection and address ranges, as Traefik's pkg/ip (Checker, Strategy): used by
// ipAllowList to decide, by rateLimit and inFlightReq to key their budgets. Immutable once built,
// shared by every worker.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.hpp"
#include "proxy/http1_parser.hpp"

namespace portier::proxy {

// A set of addresses and CIDRs (IPv4 and IPv6; an IPv4 address also matches its IPv4-mapped
// IPv6 form, as Go's net.IP does).
class IpRanges {
 public:
  // Null and *error ("bad CIDR \"x\"") when an entry is neither an address nor a CIDR.
  static std::optional<IpRanges> parse(const std::vector<std::string>& entries, std::string* error);
  // Whether `ip` (an address in text, no port) is in the set; false when it does not parse.
  bool contains(std::string_view ip) const;
  bool contains(const std::array<unsigned char, 16>& ip16) const;

 private:
  struct Range {
    std::array<unsigned char, 16> net;  // IPv4 as IPv4-mapped IPv6
    int bits;
  };
  std::vector<Range> ranges_;
};

// The address text to `ip16` (IPv4 mapped); false when it is not an address. Accepts what Go's
// netip.ParseAddr accepts (an IPv6 zone is ignored), no brackets, no port.
bool parse_ip16(std::string_view text, std::array<unsigned char, 16>& ip16);

// The X-Forwarded-For a strategy reads: every X-Forwarded-For field joined by ", " when the
// client is trusted (entryPoints.*.forwardedHeaders), else none (Traefik drops them).
std::string forwarded_for(const RequestHead& head, bool trusted);

class IpStrategy {
 public:
  // Null and *error for an excludedIPs entry that does not parse or an ipv6Subnet outside 1..128.
  static std::optional<IpStrategy> make(const std::optional<config::IpStrategy>& spec,
                                        std::string* error);
  // The client address by this strategy ("" when there is none): `peer` is the connection's,
  // `xff` what forwarded_for() returned.
  std::string client_ip(std::string_view peer, std::string_view xff) const;
  bool reads_forwarded_for() const { return depth_ > 0 || excluded_.has_value(); }

 private:
  int depth_ = 0;
  std::optional<IpRanges> excluded_;
  std::optional<int> ipv6_subnet_;
};

// The ipv6Subnet mask: the first address of `ip`'s /bits subnet when it is IPv6, else `ip`.
std::string ipv6_subnet_ip(std::string_view ip, int bits);

}  // namespace portier::proxy
