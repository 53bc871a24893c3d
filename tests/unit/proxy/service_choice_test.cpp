// Services of services compiled (weighted, mirroring, failover: children by index, weights,
// sticky names) and their health (service_up), which decides weighted's skips and failover's
// switch. The choice itself over the wire: tests/e2e/test_service_types.py.
#include <catch2/catch.hpp>

#include "config/static_config.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/service_choice.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

config::HttpService lb(const char* url, bool health_check) {
  config::HttpService s;
  s.load_balancer.emplace().servers.push_back(config::HttpServer{url});
  if (health_check) s.load_balancer->health_check.emplace();
  return s;
}

struct Compiled {
  HealthRegistry health;
  std::shared_ptr<RuntimeConfig> rc;
  uint32_t index(const std::string& name) const {
    for (uint32_t i = 0; i < rc->services.size(); ++i)
      if (rc->services[i].name == name) return i;
    FAIL("no service " << name);
    return 0;
  }
  void set_healthy(const std::string& service, bool up) {
    for (const auto& s : rc->services[index(service)].servers) s.health->healthy = up;
  }
};

void compile(Compiled& c) {
  config::Dynamic dyn;
  dyn.http.services["a@file"] = lb("http://127.0.0.1:1001", true);
  dyn.http.services["b@file"] = lb("http://127.0.0.1:1002", true);
  dyn.http.services["plain@file"] = lb("http://127.0.0.1:1003", false);
  config::HttpService w;
  w.weighted.emplace().services = {{"a@file", 3}, {"b@file", 1}, {"plain@file", 0}};
  w.weighted->sticky_cookie.emplace();
  w.weighted->health_check.emplace();
  dyn.http.services["w@file"] = w;
  config::HttpService f;
  f.failover = config::FailoverService{"a@file", "b@file", config::ServiceHealthCheck{}};
  dyn.http.services["f@file"] = f;
  config::HttpService blind;  // no healthCheck: the fallback's health is not followed
  blind.failover = config::FailoverService{"a@file", "b@file", std::nullopt};
  dyn.http.services["blind@file"] = blind;
  config::HttpService m;
  m.mirroring = config::MirroringService{"w@file", false, 1024, {{"plain@file", 25}}, std::nullopt};
  dyn.http.services["m@file"] = m;
  std::vector<std::string> problems;
  c.rc = compile_runtime(dyn, config::StaticConfig{}, c.health, &problems);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("services of services compile to indices, weights and sticky names", "[services]") {
  Compiled c;
  compile(c);
  const ServiceRuntime& w = c.rc->services[c.index("w@file")];
  CHECK(w.kind == ServiceKind::weighted);
  // The child of weight 0 is never chosen (Traefik leaves it out).
  CHECK(w.children == std::vector<uint32_t>{c.index("a@file"), c.index("b@file")});
  CHECK(w.schedule.size() == 4);
  CHECK(std::count(w.schedule.begin(), w.schedule.end(), 0u) == 3);
  REQUIRE(w.sticky);
  CHECK(w.sticky->name == portier::proxy::sticky_cookie_name("", "w@file"));  // Traefik's name
  CHECK(w.child_cookies.size() == 2);
  CHECK(w.child_cookies[0].value != w.child_cookies[1].value);
  CHECK(w.follows_health);
  const ServiceRuntime& m = c.rc->services[c.index("m@file")];
  CHECK(m.kind == ServiceKind::mirroring);
  CHECK(m.children == std::vector<uint32_t>{c.index("w@file")});
  REQUIRE(m.mirrors.size() == 1);
  CHECK(m.mirrors[0].service == c.index("plain@file"));
  CHECK(m.mirrors[0].percent == 25);
  CHECK(!m.mirror_body);
  CHECK(m.max_body_size == 1024);
  const ServiceRuntime& f = c.rc->services[c.index("f@file")];
  CHECK(f.kind == ServiceKind::failover);
  CHECK(f.children == std::vector<uint32_t>{c.index("a@file"), c.index("b@file")});
}

TEST_CASE("a service's health follows its children", "[services]") {
  Compiled c;
  compile(c);
  auto up = [&](const char* name) { return service_up(*c.rc, c.index(name)); };
  CHECK(up("w@file"));
  CHECK(up("f@file"));
  c.set_healthy("a@file", false);
  CHECK(up("w@file"));  // b is up
  CHECK(up("f@file"));  // the fallback is up
  CHECK(up("m@file"));  // its main service (w) is
  c.set_healthy("b@file", false);
  CHECK(!up("w@file"));
  CHECK(!up("m@file"));
  CHECK(!up("f@file"));     // main and fallback down
  CHECK(up("blind@file"));  // its fallback's health is not followed: taken as up
  c.set_healthy("a@file", true);
  CHECK(up("w@file"));
  CHECK(up("f@file"));
}
