// entryPoints.NAME.http.middlewares: compile_runtime gives each router, on each entrypoint
// that has middlewares, the chain "entrypoint's, then the router's"; a name that does not
// resolve drops the router with a problem naming the entrypoint (never silently ignored).
#include <catch2/catch.hpp>

#include "config/static_config.hpp"
#include "proxy/runtime_config.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

config::StaticConfig two_entry_points(std::vector<std::string> web_middlewares) {
  config::StaticConfig cfg;
  for (const char* name : {"web", "other"}) {
    config::EntryPoint ep;
    ep.name = name;
    ep.protocol = config::EntryPoint::Protocol::tcp;
    cfg.entry_points[name] = ep;
  }
  cfg.entry_points["web"].middlewares = std::move(web_middlewares);
  return cfg;
}

config::Dynamic dynamic() {
  config::Dynamic dyn;
  for (const char* name : {"bare", "own"}) {
    config::HttpRouter r;
    r.rule = std::string("Host(`") + name + ".test`)";
    r.service = "svc@file";
    if (std::string(name) == "own") r.middlewares = {"router-mw@file"};
    dyn.http.routers[std::string(name) + "@file"] = r;
  }
  config::HttpService s;
  s.load_balancer.emplace();
  s.load_balancer->servers.push_back(config::HttpServer{"http://127.0.0.1:1001"});
  dyn.http.services["svc@file"] = s;
  for (const char* name : {"ep-mw@file", "router-mw@file"}) {
    config::Middleware m;
    m.spec = config::HeadersMw{};
    m.provider = "file";
    dyn.http.middlewares[name] = m;
  }
  config::Middleware buffering;
  buffering.spec = config::BufferingMw{.max_request_body_bytes = 4096};
  buffering.provider = "file";
  dyn.http.middlewares["ep-limit@file"] = buffering;
  return dyn;
}

const RouteRuntime& route(const RuntimeConfig& rc, const std::string& name) {
  for (const auto& r : rc.routes)
    if (r.name == name) return r;
  FAIL("no route " << name);
  return rc.routes.front();
}

}  // namespace

TEST_CASE("entrypoint middlewares come before the router's, on that entrypoint only", "[compile]") {
  auto cfg = two_entry_points({"ep-mw", "ep-limit@file"});  // unqualified: the router's provider
  auto dyn = dynamic();
  HealthRegistry health;
  std::vector<std::string> problems;
  auto rc = compile_runtime(dyn, cfg, health, &problems);
  REQUIRE(problems.empty());
  auto names = http_entry_point_names(cfg);
  size_t web = std::find(names.begin(), names.end(), "web") - names.begin();
  size_t other = std::find(names.begin(), names.end(), "other") - names.begin();

  const RouteRuntime& own = route(*rc, "own@file");
  const EntryChain* chain = own.entry_chain(web);
  REQUIRE(chain != nullptr);
  REQUIRE(chain->chain.size() == 3);
  CHECK(chain->chain[2] == own.chain.at(0));  // the router's own last
  CHECK(chain->limits.max_request == 4096);   // the entrypoint's buffering applies
  CHECK(chain->limits.buffer_request);
  CHECK(own.entry_chain(other) == nullptr);
  CHECK_FALSE(own.limits.buffer_request);

  const RouteRuntime& bare = route(*rc, "bare@file");
  REQUIRE(bare.entry_chain(web) != nullptr);
  CHECK(bare.entry_chain(web)->chain.size() == 2);
  CHECK(bare.chain.empty());
}

TEST_CASE("an entrypoint middleware that does not exist drops its routers with a problem", "[compile]") {
  auto cfg = two_entry_points({"missing"});
  auto dyn = dynamic();
  HealthRegistry health;
  std::vector<std::string> problems;
  auto rc = compile_runtime(dyn, cfg, health, &problems);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("entrypoint web") != std::string::npos);
  CHECK(problems[0].find("missing@file") != std::string::npos);
  CHECK(rc->routes.empty());
}
