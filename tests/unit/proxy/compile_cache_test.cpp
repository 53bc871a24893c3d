// compile_runtime with a CompileCache (what the application keeps across reloads) must route
// exactly as a fresh compile: changed rules and servers take effect, removed routers stop.
#include <catch2/catch.hpp>

#include "config/static_config.hpp"
#include "proxy/runtime_config.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

config::StaticConfig one_entry_point() {
  config::StaticConfig cfg;
  config::EntryPoint ep;
  ep.name = "web";
  ep.protocol = config::EntryPoint::Protocol::tcp;
  cfg.entry_points["web"] = ep;
  return cfg;
}

void add(config::Dynamic& dyn, const std::string& name, const std::string& rule,
         const std::string& url) {
  config::HttpRouter r;
  r.rule = rule;
  r.service = name + "@file";
  dyn.http.routers[name + "@file"] = r;
  config::HttpService s;
  s.load_balancer.emplace();
  s.load_balancer->servers.push_back(config::HttpServer{url});
  dyn.http.services[name + "@file"] = s;
}

// Which route answers, and where its service sends the request ("" = 404).
std::string target(const RuntimeConfig& rc, std::string_view host, std::string_view path = "/") {
  RequestView req;
  req.method = "GET";
  req.host = host;
  req.path = path;
  const RouteRuntime* r = rc.route(0, false, req);
  if (!r) return "";
  return r->name + " -> " + rc.services.at(r->service).servers.at(0).url;
}

}  // namespace

TEST_CASE("a compile cache gives the same routing as a fresh compile after each change",
          "[compile]") {
  const auto cfg = one_entry_point();
  HealthRegistry health;
  CompileCache cache;
  config::Dynamic dyn;
  add(dyn, "a", "Host(`a.test`)", "http://127.0.0.1:1001");
  add(dyn, "b", "Host(`b.test`) && PathPrefix(`/x`)", "http://127.0.0.1:1002");
  add(dyn, "c", "Host(`c.test`)", "http://127.0.0.1:1003");

  auto check_same = [&](const std::vector<std::pair<std::string, std::string>>& requests) {
    std::vector<std::string> p1, p2;
    auto cached = compile_runtime(dyn, cfg, health, &p1, &cache);
    auto fresh = compile_runtime(dyn, cfg, health, &p2);
    CHECK(p1 == p2);
    REQUIRE(cached->routes.size() == fresh->routes.size());
    for (const auto& [host, path] : requests) {
      INFO(host << path);
      CHECK(target(*cached, host, path) == target(*fresh, host, path));
    }
    return cached;
  };
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"a.test", "/"}, {"b.test", "/x/1"}, {"b.test", "/y"}, {"c.test", "/"}, {"new.test", "/"}};

  auto rc = check_same(requests);
  CHECK(target(*rc, "a.test") == "a@file -> http://127.0.0.1:1001");
  CHECK(cache.rules.size() == 3);

  // One router's rule changes: the old host stops, the new one routes.
  dyn.http.routers["a@file"].rule = "Host(`new.test`)";
  rc = check_same(requests);
  CHECK(target(*rc, "a.test").empty());
  CHECK(target(*rc, "new.test") == "a@file -> http://127.0.0.1:1001");
  CHECK(cache.rules.count("Host(`a.test`)") == 0);  // unused entries are dropped

  // A server URL changes: the service is compiled again.
  dyn.http.services["c@file"].load_balancer->servers[0].url = "http://127.0.0.1:2003";
  rc = check_same(requests);
  CHECK(target(*rc, "c.test") == "c@file -> http://127.0.0.1:2003");

  // A router and its service are removed: its host is 404.
  dyn.http.routers.erase("b@file");
  dyn.http.services.erase("b@file");
  rc = check_same(requests);
  CHECK(target(*rc, "b.test", "/x/1").empty());
  CHECK(cache.services.count("b@file") == 0);

  // A bad rule is reported on every compile, cached or not.
  dyn.http.routers["c@file"].rule = "Host(";
  std::vector<std::string> problems;
  compile_runtime(dyn, cfg, health, &problems, &cache);
  REQUIRE(problems.size() == 1);
  problems.clear();
  compile_runtime(dyn, cfg, health, &problems, &cache);
  CHECK(problems.size() == 1);
}

TEST_CASE("services named by host name are resolved on every compile, not cached", "[compile]") {
  const auto cfg = one_entry_point();
  HealthRegistry health;
  CompileCache cache;
  config::Dynamic dyn;
  add(dyn, "n", "Host(`n.test`)", "http://localhost:1004");
  add(dyn, "i", "Host(`i.test`)", "http://127.0.0.1:1005");
  std::vector<std::string> problems;
  auto rc = compile_runtime(dyn, cfg, health, &problems, &cache);
  CHECK(problems.empty());
  CHECK(target(*rc, "n.test") == "n@file -> http://localhost:1004");
  CHECK(cache.services.count("n@file") == 0);
  CHECK(cache.services.count("i@file") == 1);
}

TEST_CASE("a snapshot keeps its Host names after the cache dropped their rule", "[compile]") {
  const auto cfg = one_entry_point();
  HealthRegistry health;
  CompileCache cache;
  config::Dynamic dyn;
  add(dyn, "a", "Host(`a.test`) || Host(`www.a.test`)", "http://127.0.0.1:1001");
  std::vector<std::string> problems;
  auto old_rc = compile_runtime(dyn, cfg, health, &problems, &cache);
  // The rule changes twice: the cache no longer holds the old rule or its Host names.
  dyn.http.routers["a@file"].rule = "Host(`b.test`)";
  compile_runtime(dyn, cfg, health, &problems, &cache);
  dyn.http.routers["a@file"].rule = "Host(`c.test`)";
  auto new_rc = compile_runtime(dyn, cfg, health, &problems, &cache);
  CHECK(cache.rules.count("Host(`a.test`) || Host(`www.a.test`)") == 0);
  // The snapshot published first (workers may still hold it) routes by its own names.
  CHECK(target(*old_rc, "a.test") == "a@file -> http://127.0.0.1:1001");
  CHECK(target(*old_rc, "www.a.test") == "a@file -> http://127.0.0.1:1001");
  CHECK(target(*old_rc, "c.test").empty());
  CHECK(target(*new_rc, "c.test") == "a@file -> http://127.0.0.1:1001");
  CHECK(target(*new_rc, "a.test").empty());
  CHECK(old_rc->serves_sni(0, "A.TEST") == false);  // no TLS table on a cleartext entrypoint
  CHECK(problems.empty());
}

TEST_CASE("precedence: higher priority first, then router name, cached or not", "[compile]") {
  const auto cfg = one_entry_point();
  HealthRegistry health;
  CompileCache cache;
  config::Dynamic dyn;
  // Same rule length (same default priority): the smaller name wins.
  add(dyn, "m", "PathPrefix(`/x`)", "http://127.0.0.1:1001");
  add(dyn, "b", "PathPrefix(`/y`)", "http://127.0.0.1:1002");
  add(dyn, "k", "PathPrefix(`/x`)", "http://127.0.0.1:1003");
  add(dyn, "z", "PathPrefix(`/`)", "http://127.0.0.1:1004");
  std::vector<std::string> problems;
  for (int round = 0; round < 2; ++round) {
    auto cached = compile_runtime(dyn, cfg, health, &problems, &cache);
    auto fresh = compile_runtime(dyn, cfg, health, &problems);
    for (const auto* rc : {cached.get(), fresh.get()}) {
      CHECK(target(*rc, "any.test", "/x/1") ==
            (round == 0 ? "k@file -> http://127.0.0.1:1003" : "z@file -> http://127.0.0.1:1004"));
      CHECK(target(*rc, "any.test", "/y") ==
            (round == 0 ? "b@file -> http://127.0.0.1:1002" : "z@file -> http://127.0.0.1:1004"));
      CHECK(target(*rc, "any.test", "/other") == "z@file -> http://127.0.0.1:1004");
      std::vector<std::string> order;
      for (const auto& r : rc->routes) order.push_back(r.name);
      // Default priority is the rule's length; equal priorities in name order.
      if (round == 0)
        CHECK(order == std::vector<std::string>{"b@file", "k@file", "m@file", "z@file"});
      else
        CHECK(order == std::vector<std::string>{"z@file", "b@file", "k@file", "m@file"});
    }
    // An explicit priority beats the rule length: the catch-all moves to the front.
    dyn.http.routers["z@file"].priority = 1000;
  }
  CHECK(problems.empty());
}
