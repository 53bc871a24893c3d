// Traefik's pkg/ip semantics: address ranges, the depth and excludedIPs strategies, ipv6Subnet.
#include "proxy/ip_strategy.hpp"

#include <catch2/catch.hpp>

using namespace portier;
using namespace portier::proxy;

TEST_CASE("ip ranges: addresses and CIDRs, IPv4 and IPv6", "[ip]") {
  std::string error;
  auto r = IpRanges::parse({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", " 172.16.0.0/12 "}, &error);
  REQUIRE(r);
  CHECK(r->contains("10.255.1.2"));
  CHECK_FALSE(r->contains("11.0.0.1"));
  CHECK(r->contains("192.168.1.7"));
  CHECK_FALSE(r->contains("192.168.1.8"));
  CHECK(r->contains("2001:db8:1::5"));
  CHECK(r->contains("::ffff:10.1.2.3"));  // IPv4-mapped matches the IPv4 range
  CHECK(r->contains("::1"));
  CHECK(r->contains("172.31.255.255"));
  CHECK_FALSE(r->contains(""));
  CHECK_FALSE(r->contains("10.0.0.1:80"));
  CHECK_FALSE(r->contains("not-an-ip"));
  CHECK(r->contains("fe80::1%eth0") == false);
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "::/129", "nope", "1.2.3.4/", "1.2.3.4/x", ""}) {
    INFO(bad);
    CHECK_FALSE(IpRanges::parse({bad}, &error));
    CHECK(error.find("is neither an IP address nor a CIDR") != std::string::npos);
  }
  auto all = IpRanges::parse({"0.0.0.0/0"}, &error);
  CHECK(all->contains("8.8.8.8"));
  CHECK_FALSE(all->contains("2001:db8::1"));
}

TEST_CASE("ip strategy: peer, depth from the right, excluded IPs", "[ip]") {
  std::string error;
  auto peer = IpStrategy::make(std::nullopt, &error);
  CHECK(peer->client_ip("127.0.0.9", "1.1.1.1") == "127.0.0.9");

  config::IpStrategy depth;
  depth.depth = 2;
  auto d = IpStrategy::make(depth, &error);
  CHECK(d->client_ip("127.0.0.9", "1.1.1.1, 2.2.2.2,3.3.3.3") == "2.2.2.2");
  CHECK(d->client_ip("127.0.0.9", "3.3.3.3") == "");  // fewer entries than the depth
  CHECK(d->client_ip("127.0.0.9", "") == "");

  config::IpStrategy pool;
  pool.excluded_ips = {"10.0.0.0/8", "3.3.3.3"};
  auto p = IpStrategy::make(pool, &error);
  CHECK(p->client_ip("127.0.0.9", "1.1.1.1, 2.2.2.2, 10.1.1.1 ,3.3.3.3") == "2.2.2.2");
  CHECK(p->client_ip("127.0.0.9", "10.0.0.1, ,3.3.3.3") == "");
  CHECK(p->client_ip("127.0.0.9", "") == "");
  CHECK(p->client_ip("127.0.0.9", "garbage,3.3.3.3") == "garbage");

  config::IpStrategy subnet;
  subnet.ipv6_subnet = 64;
  auto s = IpStrategy::make(subnet, &error);
  CHECK(s->client_ip("2001:db8:1:2:3:4:5:6", "") == "2001:db8:1:2::");
  CHECK(s->client_ip("127.0.0.9", "") == "127.0.0.9");

  subnet.ipv6_subnet = 200;
  CHECK_FALSE(IpStrategy::make(subnet, &error));
  CHECK(error.find("ipv6Subnet 200") != std::string::npos);
  pool.excluded_ips = {"x"};
  CHECK_FALSE(IpStrategy::make(pool, &error));
  CHECK(error.find("excludedIPs") != std::string::npos);
}

TEST_CASE("forwarded_for: joined fields of a trusted client, none otherwise", "[ip]") {
  RequestHead head;
  head.headers = {{"X-Forwarded-For", "1.1.1.1"}, {"Other", "x"}, {"x-forwarded-for", "2.2.2.2, 3.3.3.3"}};
  CHECK(forwarded_for(head, true) == "1.1.1.1, 2.2.2.2, 3.3.3.3");
  CHECK(forwarded_for(head, false) == "");
}
