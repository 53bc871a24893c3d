#include "discovery/compose_check.hpp"

#include <catch2/catch.hpp>

using namespace portier::discovery;

namespace {
DecodeOptions opts() {
  DecodeOptions o;
  o.base_domain = "example.com";
  o.entry_points = {"websecure"};
  return o;
}
}  // namespace

TEST_CASE("compose: labels as list and map, names as Docker would give them", "[compose]") {
  const char* yaml = R"(
name: shop
services:
  web:
    image: nginx
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`shop.example.com`)
      - traefik.http.services.web.loadbalancer.server.port=8080
      - rediacc.service_ip=127.0.11.2
  api:
    container_name: shop-api
    labels:
      traefik.http.routers.api.rule: Host(`api.example.com`)
    expose: ["9000"]
  db:
    image: postgres
    network_mode: host
    labels:
      rediacc.service_name: db
      rediacc.service_ip: 127.0.11.3
      rediacc.network_id: "2816"
      rediacc.tcp_ports: "5432"
)";
  auto r = check_compose_text(yaml, "/srv/shop/docker-compose.yml", opts());
  REQUIRE(r.fragment.errors.empty());
  CHECK(r.containers == std::vector<std::string>{"shop-web-1", "shop-api", "shop-db-1"});  // file order
  const auto& d = r.fragment.dynamic;
  CHECK(d.http.services.at("web").load_balancer->servers.at(0).url == "http://127.0.11.2:8080");
  CHECK(d.http.services.at("shop-api").load_balancer->servers.at(0).url == "http://container-ip:9000");
  CHECK(d.http.routers.at("api").service == "shop-api");
  CHECK(d.http.routers.at("db-2816").rule == "Host(`db-2816.example.com`)");
  REQUIRE(r.ports.size() == 1);
  CHECK(r.ports[0].port == 5432);
}

TEST_CASE("compose: the same errors as the provider, with the service named", "[compose]") {
  const char* yaml = R"(
services:
  old:
    labels:
      traefik.frontend.rule: Host:old.example.com
  ok:
    network_mode: host
    labels: ["traefik.http.services.ok.loadbalancer.server.port=80"]
)";
  auto r = check_compose_text(yaml, "/srv/My App/compose.yml", opts());
  REQUIRE(r.fragment.errors.size() == 1);
  const auto& e = r.fragment.errors[0];
  CHECK(e.label == "traefik.frontend.rule");
  CHECK(e.source == "service old (container myapp-old-1) in /srv/My App/compose.yml");
  CHECK(e.message.find("Traefik v1") != std::string::npos);
  CHECK(r.fragment.dynamic.http.routers.count("myapp-ok-1") == 1);
}

TEST_CASE("compose: unreadable and malformed files are errors", "[compose]") {
  CHECK(check_compose_file("/nonexistent/compose.yml", opts()).fragment.errors.size() == 1);
  CHECK(check_compose_text("services: [", "x.yml", opts()).fragment.errors.size() == 1);
  CHECK(check_compose_text("version: '3'", "x.yml", opts()).fragment.errors.at(0).label == "services");
}

// Found by tests/fuzz/compose_fuzz: a service that is a scalar ("web: nginx") made
// check_compose_text throw YAML::BadSubscript (operator[] on a scalar), aborting
// `portier check --compose`.
TEST_CASE("compose: a service that is not a map is an error, not an exception", "[compose][fuzz]") {
  auto r = check_compose_text("services:\n  web: nginx\n  api:\n    container_name: api\n", "/srv/x/compose.yml", opts());
  REQUIRE(r.fragment.errors.size() == 1);
  CHECK(r.fragment.errors[0].message == "a service must be a map");
  CHECK(r.fragment.errors[0].source.find("service web (container x-web-1)") == 0);
  CHECK(r.containers == std::vector<std::string>{"api"});
}

TEST_CASE("compose: a file that is not UTF-8 is one error", "[compose][fuzz]") {
  auto r = check_compose_text("services:\n  web:\n    labels:\n      a: \"\xc0\xaf\"\n", "x.yml", opts());
  REQUIRE(r.fragment.errors.size() == 1);
  CHECK(r.fragment.errors[0].message == "invalid YAML: not valid UTF-8 at line 4");
}
