// The static `infra` block (Rediacc's shorthand): the entrypoints it expands to and its checks.
#include <catch2/catch.hpp>

#include "tests/unit/config/static_load_util.hpp"

using namespace portier::config;
using namespace portier::config::test;

TEST_CASE("infra expansion: IPv4 only") {
  auto r =
      load("infra:\n  public_ipv4: 203.0.113.50\n  tcp_ports: [25, 3306]\n  udp_ports: [5353]\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& eps = r.config.entry_points;
  const auto& web = eps.at("web");
  CHECK(web.hosts == std::vector<std::string>{"203.0.113.50"});
  CHECK(web.port == 80);
  CHECK(web.from_infra);
  REQUIRE(web.redirection);
  CHECK(web.redirection->to == "websecure");
  CHECK(web.redirection->permanent);
  CHECK(eps.at("websecure").port == 443);
  CHECK(eps.at("websecure").tls);
  CHECK_FALSE(eps.count("web-v6"));
  for (int p : {25, 3306, 5432, 6379, 27017, 11211, 5672, 9092}) {
    INFO(p);
    REQUIRE(eps.count("tcp-" + std::to_string(p)));
    CHECK(eps.at("tcp-" + std::to_string(p)).port == p);
  }
  CHECK(eps.at("udp-53").protocol == EntryPoint::Protocol::udp);
  CHECK(eps.at("udp-5353").hosts == std::vector<std::string>{"203.0.113.50"});
  CHECK(eps.size() == 2 + 8 + 2);
  CHECK(r.config.cert_resolvers.empty());  // no email / token
}

TEST_CASE("infra expansion: IPv6 only, both, dynamic range") {
  auto v6 = load("infra:\n  public_ipv6: 2001:db8::1\n  http_port: 8080\n  https_port: 8443\n");
  INFO(all(v6));
  REQUIRE(v6.ok());
  CHECK_FALSE(v6.config.entry_points.count("web"));
  const auto& web6 = v6.config.entry_points.at("web-v6");
  CHECK(web6.hosts == std::vector<std::string>{"2001:db8::1"});
  CHECK(web6.port == 8080);
  CHECK(web6.redirection->to == "websecure-v6");
  CHECK(web6.address == "[2001:db8::1]:8080");
  CHECK(v6.config.entry_points.at("websecure-v6").port == 8443);

  auto both = load(
      "infra:\n  public_ipv4: 203.0.113.50\n  public_ipv6: 2001:db8::1\n"
      "  dynamic_tcp_ports: 10000-10010\n  cert_email: a@example.com\n"
      "  cf_dns_api_token: tok\nstate:\n  directory: /var/lib/p\n");
  INFO(all(both));
  REQUIRE(both.ok());
  const auto& eps = both.config.entry_points;
  for (const char* n : {"web", "websecure", "web-v6", "websecure-v6"}) CHECK(eps.count(n));
  for (int p = 10000; p <= 10010; ++p) CHECK(eps.count("tcp-" + std::to_string(p)));
  CHECK_FALSE(eps.count("tcp-10011"));
  CHECK(eps.at("tcp-10005").hosts == std::vector<std::string>{"203.0.113.50", "2001:db8::1"});
  CHECK(eps.at("udp-53").hosts.size() == 2);
  const auto& le = both.config.cert_resolvers.at("letsencrypt");
  CHECK(le.email == "a@example.com");
  CHECK(le.storage == "/var/lib/p/acme.json");
  REQUIRE(le.dns_challenge);
  CHECK(le.dns_challenge->provider == "cloudflare");

  auto bad_range = load("infra:\n  public_ipv4: 203.0.113.50\n  dynamic_tcp_ports: 10010-10000\n");
  CHECK(has(bad_range, "infra.dynamic_tcp_ports", "not ordered", 3));
}

TEST_CASE("infra expansion: explicit definitions win, no public address") {
  const char* yaml =
      "infra:\n"
      "  public_ipv4: 203.0.113.50\n"
      "  cert_email: a@example.com\n"
      "  cf_dns_api_token: tok\n"
      "entryPoints:\n"
      "  websecure:\n"
      "    address: \"203.0.113.50:8443\"\n"
      "  tcp-3306:\n"
      "    address: \"203.0.113.50:13306\"\n"
      "certificatesResolvers:\n"
      "  letsencrypt:\n"
      "    acme:\n"
      "      email: other@example.com\n"
      "      caServer: https://pebble:14000/dir\n"
      "      dnsChallenge: {provider: cloudflare}\n";
  auto r = load(yaml);
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.config.entry_points.at("websecure").port == 8443);
  CHECK_FALSE(r.config.entry_points.at("websecure").from_infra);
  CHECK(r.config.entry_points.at("tcp-3306").port == 13306);
  CHECK(r.config.entry_points.at("web").redirection->to == "websecure");
  CHECK(r.config.cert_resolvers.at("letsencrypt").email == "other@example.com");

  // A file entrypoint on a port that the expansion also binds: reported on the file's one.
  auto clash =
      load("infra:\n  public_ipv4: 203.0.113.50\nentryPoints:\n  mysql:\n    address: \":3306\"\n");
  CHECK(has(clash, "entryPoints.mysql.address",
            "also bound by entrypoint \"tcp-3306\" (from infra)", 5));

  auto none = load("infra:\n  base_domain: example.com\n");
  INFO(all(none));
  REQUIRE(none.ok());
  CHECK(none.config.entry_points.size() == 2);
  CHECK(none.config.entry_points.at("web").hosts == std::vector<std::string>{""});
  CHECK(none.config.entry_points.at("websecure").address == ":443");
  auto ports_no_addr = load("infra:\n  tcp_ports: [25]\n");
  CHECK(has(ports_no_addr, "infra.tcp_ports", "needs infra.public_ipv4", 2));
}

TEST_CASE("infra values are checked") {
  auto r = load(
      "infra:\n"
      "  public_ipv4: 2001:db8::1\n"
      "  public_ipv6: 203.0.113.5\n"
      "  base_domain: \"bad domain\"\n"
      "  cert_email: nobody\n"
      "  tcp_ports: [25, 99999]\n"
      "  http_port: 80x\n"
      "  colour: blue\n");
  INFO(all(r));
  CHECK(has(r, "infra.public_ipv4", "invalid IPv4", 2));
  CHECK(has(r, "infra.public_ipv6", "invalid IPv6", 3));
  CHECK(has(r, "infra.base_domain", "invalid domain", 4));
  CHECK(has(r, "infra.cert_email", "invalid email", 5));
  CHECK(has(r, "infra.tcp_ports[1]", "out of range", 6));
  CHECK(has(r, "infra.http_port", "invalid port", 7));
  CHECK(has(r, "infra.colour", "unknown key", 8));
}
