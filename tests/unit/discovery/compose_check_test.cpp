#include "discovery/compose_check.hpp"

#include <catch2/catch.hpp>
#include <set>

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

TEST_CASE("compose: access-control middlewares in labels, $$ unescaped as compose does",
          "[compose][labels]") {
  const char* yaml = R"(
services:
  app:
    network_mode: host
    labels:
      - traefik.http.routers.app.rule=Host(`app.example.com`)
      - traefik.http.routers.app.middlewares=auth,office,limit,one
      - traefik.http.services.app.loadbalancer.server.port=80
      - "traefik.http.middlewares.auth.basicauth.users=alice:$$apr1$$eNWI5oh5$$YeVKwLvZ8O0bYsRpSPl5d0, bob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0="
      - traefik.http.middlewares.auth.basicauth.realm=admin
      - traefik.http.middlewares.auth.basicauth.removeheader=true
      - traefik.http.middlewares.auth.basicauth.headerField=X-User
      - traefik.http.middlewares.office.ipallowlist.sourcerange=192.0.2.0/24, 2001:db8::/32
      - traefik.http.middlewares.office.ipallowlist.ipstrategy.depth=2
      - traefik.http.middlewares.office.ipallowlist.rejectstatuscode=404
      - traefik.http.middlewares.old.ipwhitelist.sourcerange=10.0.0.1
      - traefik.http.middlewares.old.ipwhitelist.ipstrategy.excludedips=10.0.0.2,10.0.0.3
      - traefik.http.middlewares.limit.ratelimit.average=100
      - traefik.http.middlewares.limit.ratelimit.period=1m
      - traefik.http.middlewares.limit.ratelimit.burst=50
      - traefik.http.middlewares.limit.ratelimit.sourcecriterion.ipstrategy.ipv6subnet=64
      - traefik.http.middlewares.one.inflightreq.amount=3
      - traefik.http.middlewares.one.inflightreq.sourcecriterion.requestheadername=X-Key
)";
  auto r = check_compose_text(yaml, "c.yml", opts());
  INFO((r.fragment.errors.empty() ? "" : r.fragment.errors[0].label + ": " + r.fragment.errors[0].message));
  REQUIRE(r.fragment.errors.empty());
  const auto& mws = r.fragment.dynamic.http.middlewares;
  using namespace portier::config;
  const auto& auth = std::get<BasicAuthMw>(mws.at("auth").spec);
  CHECK(auth.users == std::vector<std::string>{"alice:$apr1$eNWI5oh5$YeVKwLvZ8O0bYsRpSPl5d0",
                                               "bob:{SHA}87u9ZqY9S/F0eUBXjsPQEDUw4h0="});
  CHECK(auth.realm == "admin");
  CHECK(auth.remove_header);
  CHECK(auth.header_field == "X-User");
  const auto& office = std::get<IpAllowListMw>(mws.at("office").spec);
  CHECK(office.source_range == std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32"});
  CHECK(office.ip_strategy->depth == 2);
  CHECK(office.reject_status_code == 404);
  const auto& old = std::get<IpWhiteListMw>(mws.at("old").spec);
  CHECK(old.ip_strategy->excluded_ips == std::vector<std::string>{"10.0.0.2", "10.0.0.3"});
  const auto& limit = std::get<RateLimitMw>(mws.at("limit").spec);
  CHECK(limit.average == 100);
  CHECK(limit.period == Millis(60000));
  CHECK(limit.burst == 50);
  CHECK(limit.source_criterion->ip_strategy->ipv6_subnet == 64);
  const auto& one = std::get<InFlightReqMw>(mws.at("one").spec);
  CHECK(one.amount == 3);
  CHECK(one.source_criterion->request_header_name == "X-Key");
}

TEST_CASE("compose: unknown access-control fields are errors naming the label", "[compose][labels]") {
  const char* yaml = R"(
services:
  app:
    network_mode: host
    labels:
      - traefik.http.services.app.loadbalancer.server.port=80
      - traefik.http.middlewares.l.ratelimit.redis.endpoints=x:6379
      - traefik.http.middlewares.w.ipwhitelist.rejectstatuscode=404
      - traefik.http.middlewares.b.basicauth.userz=x
)";
  auto r = check_compose_text(yaml, "c.yml", opts());
  std::set<std::string> labels;
  for (const auto& e : r.fragment.errors) labels.insert(e.label);
  CHECK(labels.count("traefik.http.middlewares.l.ratelimit.redis.endpoints") == 1);
  CHECK(labels.count("traefik.http.middlewares.w.ipwhitelist.rejectstatuscode") == 1);
  CHECK(labels.count("traefik.http.middlewares.b.basicauth.userz") == 1);
}

TEST_CASE("compose: services the constraints leave out are listed as skipped", "[compose]") {
  const char* yaml = R"(
name: shop
services:
  web:
    network_mode: host
    labels: {traefik.enable: "true", tier: front, rediacc.service_ip: 127.0.11.2}
    expose: ["80"]
  admin:
    network_mode: host
    labels: {traefik.enable: "true", rediacc.service_ip: 127.0.11.3}
    expose: ["80"]
)";
  auto o = opts();
  REQUIRE(ConstraintMatcher::compile("Label(`tier`, `front`)", o.constraints).empty());
  auto r = check_compose_text(yaml, "/srv/shop/docker-compose.yml", o);
  CHECK(r.fragment.errors.empty());
  REQUIRE(r.fragment.dynamic.http.routers.size() == 1);  // web's default router, not admin's
  CHECK(r.fragment.dynamic.http.routers.begin()->first == "shop-web-1");
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0].source.find("shop-admin-1") != std::string::npos);
  CHECK(r.skipped[0].message == "does not match providers.docker.constraints");
}
