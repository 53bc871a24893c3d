#include "discovery/fragment_merge.hpp"

#include <catch2/catch.hpp>

using namespace portier;
using namespace portier::discovery;

namespace {

config::Dynamic one_router(const std::string& name, const std::string& rule, const std::string& url) {
  config::Dynamic d;
  config::HttpRouter r;
  r.rule = rule;
  r.service = name;
  d.http.routers[name] = r;
  config::HttpService s;
  s.load_balancer.emplace();
  s.load_balancer->servers.push_back({url, 1});
  d.http.services[name] = s;
  return d;
}

}  // namespace

TEST_CASE("fragment merge: sources name the containers of every item", "[merge]") {
  auto f = merge_fragments({{"container a on unix:///x.sock", one_router("web", "Host(`w`)", "http://127.0.0.2:80")},
                            {"container b on unix:///y.sock", one_router("web", "Host(`w`)", "http://127.0.0.3:80")},
                            {"container c on unix:///x.sock", one_router("api", "Host(`a`)", "http://127.0.0.4:80")}},
                           {});
  CHECK(f.errors.empty());
  REQUIRE(f.dynamic.http.services.at("web").load_balancer->servers.size() == 2);
  CHECK(f.sources.at("http.routers.web") == "container a on unix:///x.sock; container b on unix:///y.sock");
  CHECK(f.sources.at("http.services.web") == "container a on unix:///x.sock; container b on unix:///y.sock");
  CHECK(f.sources.at("http.routers.api") == "container c on unix:///x.sock");
}

TEST_CASE("fragment merge: conflicting routers are dropped and reported with every source", "[merge]") {
  auto f = merge_fragments({{"container a on e", one_router("web", "Host(`w`)", "http://127.0.0.2:80")},
                            {"container b on e", one_router("web", "Host(`other`)", "http://127.0.0.2:80")}},
                           {});
  CHECK(f.dynamic.http.routers.count("web") == 0);
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].source == "container a on e; container b on e");
  CHECK(f.errors[0].label == "traefik.http.routers.web");
  CHECK(f.sources.count("http.routers.web") == 0);
}
