#include "config/dynamic_merge.hpp"

#include <catch2/catch.hpp>

#include "config/dynamic_json.hpp"
#include "config/dynamic_yaml.hpp"

using namespace portier::config;

namespace {

// Accepts every rule except ones containing "BROKEN".
std::string fake_rule_check(std::string_view rule, bool tcp) {
  if (rule.find("BROKEN") != std::string_view::npos) return tcp ? "bad tcp rule" : "bad rule";
  return "";
}

Fragment docker_fragment() {
  Fragment f;
  HttpService svc;
  svc.load_balancer.emplace().servers.push_back({"http://127.0.11.2:80", 1});
  f.dynamic.http.services["whoami"] = svc;
  HttpRouter r;
  r.rule = "Host(`whoami.example.com`)";
  r.service = "whoami";
  r.middlewares = {"compress-free@file"};
  f.dynamic.http.routers["whoami"] = r;
  f.sources["http.routers.whoami"] = "container whoami on unix:///var/run/docker.sock";
  return f;
}

const char* kFile = R"Y(
http:
  routers:
    front:
      rule: Host(`front.example.com`)
      entryPoints: [websecure]
      service: whoami@docker
      middlewares: [chained]
      tls: {options: strict}
    local:
      rule: Host(`local.example.com`)
      service: mine
    missing-svc:
      rule: Host(`a`)
      service: nope
    missing-mw:
      rule: Host(`b`)
      service: mine
      middlewares: [ghost]
    bad-ep:
      rule: Host(`c`)
      entryPoints: [web, nowhere]
      service: mine
    bad-rule:
      rule: BROKEN(
      service: mine
    uses-bad-svc:
      rule: Host(`d`)
      service: ftp
    loopy:
      rule: Host(`e`)
      service: mine
      middlewares: [cycle-a]
    split:
      rule: Host(`f`)
      service: weights
  services:
    mine:
      loadBalancer:
        servers: []
    ftp:
      loadBalancer:
        servers:
          - url: ftp://127.0.0.1:21
    weights:
      weighted:
        services:
          - name: mine
          - name: whoami@docker
          - name: gone
  middlewares:
    compress-free:
      headers: {frameDeny: true}
    chained:
      chain:
        middlewares: [compress-free, secure]
    secure:
      redirectScheme: {scheme: https}
    cycle-a:
      chain: {middlewares: [cycle-b]}
    cycle-b:
      chain: {middlewares: [cycle-a]}
tcp:
  routers:
    db:
      rule: HostSNI(`*`)
      entryPoints: [web]
      service: db
    db-bad:
      rule: HostSNI(`*`)
      service: badaddr
  services:
    db:
      loadBalancer:
        servers: [{address: "127.0.11.2:5432"}]
    badaddr:
      loadBalancer:
        servers: [{address: "127.0.11.2"}]
udp:
  routers:
    dns:
      service: none
tls:
  options:
    strict: {minVersion: VersionTLS13}
)Y";

struct Fixture {
  Fragment docker = docker_fragment();
  Fragment file = parse_dynamic_yaml(kFile, "/etc/portier/dynamic.yml");
  Merged merged() const {
    return merge_providers({{"docker", &docker}, {"file", &file}}, fake_rule_check,
                           {"web", "websecure"});
  }
};

std::string error_of(const Merged& m, const std::string& router) {
  auto it = m.disabled.find(router);
  return it == m.disabled.end() ? "<enabled>" : it->second.error;
}

}  // namespace

TEST_CASE("merge qualifies names and references, across providers") {
  Fixture fx;
  REQUIRE(fx.file.errors.empty());
  const Merged m = fx.merged();
  const auto& routers = m.dynamic.http.routers;
  REQUIRE(routers.count("front@file"));
  const HttpRouter& front = routers.at("front@file");
  CHECK(front.service == "whoami@docker");
  CHECK(front.middlewares == std::vector<std::string>{"chained@file"});
  CHECK(front.tls->options == "strict@file");
  CHECK(front.provider == "file");
  REQUIRE(routers.count("whoami@docker"));
  CHECK(routers.at("whoami@docker").middlewares == std::vector<std::string>{"compress-free@file"});
  CHECK(routers.at("whoami@docker").provider == "docker");
  CHECK(routers.count("local@file"));
  CHECK(std::get<ChainMw>(m.dynamic.http.middlewares.at("chained@file").spec).middlewares ==
        std::vector<std::string>{"compress-free@file", "secure@file"});
  CHECK(m.dynamic.http.services.at("mine@file").load_balancer->servers.empty());
  CHECK(m.dynamic.tcp.routers.count("db@file"));
  CHECK(m.dynamic.tls.options.count("strict@file"));
  for (const auto& [name, r] : routers) CHECK(name.find('@') != std::string::npos);
}

TEST_CASE("invalid routers are disabled with their reasons") {
  Fixture fx;
  const Merged m = fx.merged();
  CHECK(error_of(m, "missing-svc@file") == "service \"nope@file\" does not exist");
  CHECK(error_of(m, "missing-mw@file") == "middleware \"ghost@file\" does not exist");
  CHECK(error_of(m, "bad-ep@file") == "entry point \"nowhere\" does not exist");
  CHECK(error_of(m, "bad-rule@file") == "rule: bad rule");
  CHECK(error_of(m, "uses-bad-svc@file") == "service \"ftp@file\" is invalid");
  CHECK(error_of(m, "loopy@file") == "middleware \"cycle-a@file\" is invalid");
  CHECK(error_of(m, "split@file") == "service \"weights@file\" is invalid");
  CHECK(error_of(m, "db-bad@file") == "service \"badaddr@file\" is invalid");
  CHECK(error_of(m, "dns@file") == "service \"none@file\" does not exist");
  CHECK(m.disabled.at("dns@file").kind == "udp");
  CHECK(m.disabled.at("db-bad@file").kind == "tcp");
  CHECK(m.dynamic.http.routers.count("missing-svc@file") == 0);
  CHECK(m.dynamic.http.services.count("ftp@file") == 0);
  CHECK(m.dynamic.http.middlewares.count("cycle-a@file") == 0);

  auto error_for = [&](const std::string& label) -> std::string {
    for (const auto& e : m.errors)
      if (e.label == label) return e.message;
    return "<none>";
  };
  CHECK(error_for("http.services.ftp@file") ==
        "server url \"ftp://127.0.0.1:21\": scheme must be http, https or h2c");
  CHECK(error_for("http.services.weights@file") == "service \"gone@file\" does not exist");
  CHECK(error_for("http.middlewares.cycle-a@file").find("cycle") != std::string::npos);
  CHECK(error_for("tcp.services.badaddr@file") == "server address \"127.0.11.2\" is not host:port");
  for (const auto& e : m.errors) {
    if (e.label.rfind("http.routers.", 0) != 0) continue;
    CHECK(e.provider == "file");
    CHECK(e.source == "/etc/portier/dynamic.yml");
  }
}

TEST_CASE("merge is deterministic and skips the entrypoint check on an empty set") {
  Fixture fx;
  CHECK(fx.merged() == fx.merged());
  const Merged m =
      merge_providers({{"file", &fx.file}, {"docker", &fx.docker}}, fake_rule_check, {});
  CHECK(m.dynamic.http.routers.count("bad-ep@file") == 1);
}

TEST_CASE("fragment errors are carried into the merged errors") {
  Fragment broken = parse_dynamic_yaml("http:\n  routers:\n    a: {rule: 1, oops: 2}\n", "x.yml");
  REQUIRE(broken.errors.size() == 1);
  const Merged m = merge_providers({{"file", &broken}}, fake_rule_check, {});
  REQUIRE(m.errors.size() == 1);
  CHECK(m.errors[0] == broken.errors[0]);
}

TEST_CASE("routes_json has the SPEC 10 shape") {
  Fixture fx;
  const Merged m = fx.merged();
  const auto j = routes_json(m, [](const std::string& svc, const std::string& server) {
    return svc == "whoami@docker" ? std::optional<bool>(server == "http://127.0.11.2:80")
                                  : std::nullopt;
  });
  const auto& front = j["http"]["routers"]["front@file"];
  CHECK(front["rule"] == "Host(`front.example.com`)");
  CHECK(front["entryPoints"] == nlohmann::json::array({"websecure"}));
  CHECK(front["service"] == "whoami@docker");
  CHECK(front["middlewares"] == nlohmann::json::array({"chained@file"}));
  CHECK(front["tls"]["options"] == "strict@file");
  CHECK(front["priority"] == 25);  // default priority shown as the rule length
  CHECK(front["provider"] == "file");
  CHECK(front["status"] == "enabled");
  CHECK_FALSE(front.contains("error"));
  const auto& bad = j["http"]["routers"]["missing-svc@file"];
  CHECK(bad["status"] == "disabled");
  CHECK(bad["error"] == "service \"nope@file\" does not exist");
  CHECK(bad["service"] == "nope@file");
  CHECK(j["udp"]["routers"]["dns@file"]["status"] == "disabled");
  const auto& svc = j["http"]["services"]["whoami@docker"];
  CHECK(svc["servers"][0]["url"] == "http://127.0.11.2:80");
  CHECK(svc["servers"][0]["healthy"] == true);
  CHECK(svc["provider"] == "docker");
  CHECK_FALSE(j["http"]["services"]["mine@file"]["servers"].size());
  CHECK(j["http"]["middlewares"]["secure@file"]["type"] == "redirectScheme");
  CHECK(j["tcp"]["services"]["db@file"]["servers"][0]["address"] == "127.0.11.2:5432");
  REQUIRE(j["errors"].is_array());
  CHECK(j["errors"].size() == m.errors.size());
  CHECK(j["errors"][0].contains("provider"));
  CHECK(j["errors"][0].contains("source"));
  CHECK(j["errors"][0].contains("label"));
  CHECK(j["errors"][0].contains("message"));
}

TEST_CASE("dynamic_yaml of a merged config uses names Traefik's http provider accepts") {
  Fixture fx;
  const Merged m = fx.merged();
  const std::string yaml = dynamic_yaml(m.dynamic);
  INFO(yaml);
  CHECK(yaml.find('@') == std::string::npos);
  const Fragment back = parse_dynamic_yaml(yaml, "export.yml");
  CHECK(back.errors.empty());
  const HttpRouter& front = back.dynamic.http.routers.at("front-file");
  CHECK(front.service == "whoami-docker");
  CHECK(front.middlewares == std::vector<std::string>{"chained-file"});
  CHECK(front.tls->options == "strict-file");
  // Re-merging the export as a single provider validates cleanly.
  const Merged again = merge_providers({{"http", &back}}, fake_rule_check, {});
  CHECK(again.errors.empty());
  CHECK(again.dynamic.http.routers.size() == m.dynamic.http.routers.size());
}

TEST_CASE("unknown cross-provider references keep built-in names in the export") {
  Dynamic d;
  HttpRouter r;
  r.rule = "Host(`x`)";
  r.service = "api@internal";
  d.http.routers["dash@file"] = r;
  const std::string yaml = dynamic_yaml(d);
  CHECK(yaml.find("\"api@internal\"") != std::string::npos);
  CHECK(yaml.find("dash-file:") != std::string::npos);
}

TEST_CASE("router references: a missing service, every reason joined, weighted parents") {
  Fragment f;
  HttpRouter no_service;
  no_service.rule = "Host(`a`)";
  no_service.middlewares = {"ghost"};
  f.dynamic.http.routers["no-svc"] = no_service;
  HttpRouter via_weighted;
  via_weighted.rule = "Host(`b`)";
  via_weighted.service = "split";
  f.dynamic.http.routers["via-weighted"] = via_weighted;
  HttpRouter bad_child;
  bad_child.rule = "Host(`c`)";
  bad_child.service = "bad-split";
  f.dynamic.http.routers["bad-child"] = bad_child;
  HttpService leaf;  // sorts after "bad-split" and "split" refer to it
  leaf.load_balancer.emplace().servers.push_back({"http://127.0.0.1:1"});
  f.dynamic.http.services["z-leaf"] = leaf;
  HttpService broken;
  broken.load_balancer.emplace().servers.push_back({"ftp://127.0.0.1:1"});
  f.dynamic.http.services["a-broken"] = broken;
  HttpService split;
  split.weighted.emplace().services.push_back({"z-leaf", 1});
  f.dynamic.http.services["split"] = split;
  HttpService bad_split;
  bad_split.weighted.emplace().services.push_back({"a-broken", 1});
  f.dynamic.http.services["bad-split"] = bad_split;
  const Merged m = merge_providers({{"file", &f}}, fake_rule_check, {});
  CHECK(error_of(m, "no-svc@file") ==
        "service is missing; middleware \"ghost@file\" does not exist");
  CHECK(error_of(m, "via-weighted@file") == "<enabled>");
  CHECK(error_of(m, "bad-child@file") == "service \"bad-split@file\" is invalid");
  CHECK(m.dynamic.http.services.count("split@file") == 1);
  CHECK(m.dynamic.http.services.count("z-leaf@file") == 1);
  CHECK(m.dynamic.http.services.count("bad-split@file") == 0);
  CHECK(m.dynamic.http.services.count("a-broken@file") == 0);
}

// Services of services (issue 13 item 4): references qualified, cycles and missing names
// found, and Traefik's health-check requirements (a service whose health a parent follows
// must report it).
TEST_CASE("weighted, mirroring and failover: references, cycles and health requirements") {
  const Fragment f = parse_dynamic_yaml(R"Y(
http:
  services:
    checked: {loadBalancer: {servers: [{url: "http://127.0.0.1:1"}], healthCheck: {path: /h}}}
    plain: {loadBalancer: {servers: [{url: "http://127.0.0.1:2"}]}}
    good-weighted: {weighted: {services: [{name: checked}, {name: inner}], healthCheck: {}}}
    inner: {weighted: {services: [{name: checked}], healthCheck: {}}}
    good-mirror: {mirroring: {service: plain, mirrors: [{name: good-weighted, percent: 5}]}}
    good-failover: {failover: {service: good-weighted, fallback: plain}}
    checked-failover: {failover: {service: checked, fallback: inner, healthCheck: {}}}
    blind-weighted: {weighted: {services: [{name: plain}], healthCheck: {}}}
    blind-mirror: {mirroring: {service: plain, healthCheck: {}}}
    blind-failover: {failover: {service: plain, fallback: checked}}
    blind-fallback: {failover: {service: checked, fallback: plain, healthCheck: {}}}
    loop-a: {mirroring: {service: plain, mirrors: [{name: loop-b}]}}
    loop-b: {failover: {service: checked, fallback: loop-a}}
    dangling: {weighted: {services: [{name: nowhere}]}}
    empty: {weighted: {services: []}}
)Y", "services.yml");
  REQUIRE(f.errors.empty());
  const Merged m = merge_providers({{"file", &f}}, fake_rule_check, {});
  auto error_for = [&](const std::string& service) -> std::string {
    for (const auto& e : m.errors)
      if (e.label == "http.services." + service + "@file") return e.message;
    return "<none>";
  };
  for (const char* good : {"good-weighted", "inner", "good-mirror", "good-failover", "checked-failover"}) {
    INFO(good);
    CHECK(error_for(good) == "<none>");
    CHECK(m.dynamic.http.services.count(std::string(good) + "@file") == 1);
  }
  CHECK(m.dynamic.http.services.at("good-mirror@file").mirroring->mirrors[0].name == "good-weighted@file");
  CHECK(m.dynamic.http.services.at("good-failover@file").failover->fallback == "plain@file");
  CHECK(error_for("blind-weighted") == "weighted.healthCheck needs a healthCheck on service \"plain@file\"");
  CHECK(error_for("blind-mirror") == "mirroring.healthCheck needs a healthCheck on service \"plain@file\"");
  CHECK(error_for("blind-failover") == "failover needs a healthCheck on service \"plain@file\"");
  CHECK(error_for("blind-fallback") == "failover.healthCheck needs a healthCheck on service \"plain@file\"");
  CHECK(error_for("loop-a").find("cycle through service") == 0);
  CHECK(error_for("loop-b").find("cycle through service") == 0);
  CHECK(error_for("dangling") == "service \"nowhere@file\" does not exist");
  CHECK(error_for("empty") == "weighted has no services");
}
