#include "discovery/auto_routes.hpp"

#include <catch2/catch.hpp>

using namespace portier::discovery;

namespace {

ContainerInfo rediacc(std::map<std::string, std::string> extra = {}) {
  ContainerInfo c;
  c.name = "mail";
  c.network_mode = "host";
  c.endpoint = "unix:///var/run/rediacc/docker-2816.sock";
  c.labels = {{"rediacc.service_name", "mail"}, {"rediacc.service_ip", "127.0.11.2"}, {"rediacc.network_id", "2816"}};
  for (auto& [k, v] : extra) c.labels[k] = v;
  return c;
}

DecodeOptions opts(bool resolver = true, bool v6 = true) {
  DecodeOptions o;
  o.base_domain = "example.com";
  o.entry_points = {"web", "websecure"};
  if (v6) o.entry_points.insert("websecure-v6");
  if (resolver) o.cert_resolvers = {"letsencrypt"};
  return o;
}

}  // namespace

TEST_CASE("auto-routes: router, TLS wildcard, backend", "[auto]") {
  auto f = decode_container(rediacc(), opts());
  REQUIRE(f.errors.empty());
  REQUIRE(f.dynamic.http.routers.size() == 1);
  const auto& r = f.dynamic.http.routers.at("mail-2816");
  CHECK(r.rule == "Host(`mail-2816.example.com`)");
  CHECK(r.entry_points == std::vector<std::string>{"websecure", "websecure-v6"});
  CHECK(r.service == "mail-2816");
  REQUIRE(r.tls);
  CHECK(r.tls->cert_resolver == "letsencrypt");
  REQUIRE(r.tls->domains.size() == 1);
  CHECK(r.tls->domains[0].main == "*.example.com");
  CHECK(f.dynamic.http.services.at("mail-2816").load_balancer->servers.at(0).url == "http://127.0.11.2:80");
}

TEST_CASE("auto-routes: service_port, missing v6 entrypoint and resolver", "[auto]") {
  auto f = decode_container(rediacc({{"rediacc.service_port", "8080"}}), opts(false, false));
  const auto& r = f.dynamic.http.routers.at("mail-2816");
  CHECK(r.entry_points == std::vector<std::string>{"websecure"});
  REQUIRE(r.tls);
  CHECK(r.tls->cert_resolver.empty());
  CHECK(r.tls->domains.empty());
  CHECK(f.dynamic.http.services.at("mail-2816").load_balancer->servers.at(0).url == "http://127.0.11.2:8080");
}

TEST_CASE("auto-routes: only with base_domain and without traefik.enable=true", "[auto]") {
  auto o = opts();
  o.base_domain.clear();
  CHECK(decode_container(rediacc(), o).dynamic.http.routers.empty());
  auto f = decode_container(rediacc({{"traefik.enable", "true"},
                                     {"traefik.http.routers.own.rule", "Host(`own.example.com`)"},
                                     {"traefik.http.services.own.loadbalancer.server.port", "9000"}}),
                            opts());
  CHECK(f.dynamic.http.routers.count("mail-2816") == 0);
  CHECK(f.dynamic.http.services.at("own").load_balancer->servers.at(0).url == "http://127.0.11.2:9000");
  auto partial = rediacc();
  partial.labels.erase("rediacc.network_id");
  CHECK(decode_container(partial, opts()).dynamic.http.routers.empty());
}

TEST_CASE("auto-routes: dynamic port requests and routes", "[auto]") {
  auto f = decode_container(rediacc({{"rediacc.tcp_ports", "3306, 5432"}, {"rediacc.udp_ports", "53"}}), opts());
  REQUIRE(f.errors.empty());
  REQUIRE(f.ports.size() == 3);
  CHECK(f.ports[0] == PortRequest{"2816", "mail", "tcp", 3306, "127.0.11.2"});
  CHECK(f.ports[2].proto == "udp");
  portier::config::Dynamic d;
  add_port_route(f.ports[0], 10000, d);
  add_port_route(f.ports[2], 10001, d);
  const auto& r = d.tcp.routers.at("mail-2816-tcp-3306");
  CHECK(r.rule == "HostSNI(`*`)");
  CHECK(r.entry_points == std::vector<std::string>{"tcp-10000"});
  CHECK(d.tcp.services.at("mail-2816-tcp-3306").servers.at(0).address == "127.0.11.2:3306");
  CHECK(d.udp.routers.at("mail-2816-udp-53").entry_points == std::vector<std::string>{"udp-10001"});
  CHECK(d.udp.services.at("mail-2816-udp-53").servers.at(0).address == "127.0.11.2:53");
  auto bad = decode_container(rediacc({{"rediacc.tcp_ports", "3306,x"}}), opts());
  CHECK(bad.errors.size() == 1);
  CHECK(bad.errors[0].label == "rediacc.tcp_ports");
  CHECK(bad.dynamic.http.routers.empty());
}
