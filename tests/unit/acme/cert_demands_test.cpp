#include "acme/cert_demands.hpp"

#include <catch2/catch.hpp>

using namespace portier;
using acme::CertDemand;

namespace {

config::HttpRouter router(std::string rule, std::string resolver, std::vector<config::Domain> domains = {}) {
  config::HttpRouter r;
  r.rule = std::move(rule);
  r.service = "svc";
  config::RouterTls tls;
  tls.cert_resolver = std::move(resolver);
  tls.domains = std::move(domains);
  r.tls = tls;
  return r;
}

}  // namespace

TEST_CASE("certificate_demands: Host() names of the rule form one certificate") {
  config::Dynamic d;
  d.http.routers["api@file"] = router("Host(`API.example.com`) || (Host(`www.example.com`) && PathPrefix(`/x`))", "le");
  auto demands = acme::certificate_demands(d);
  REQUIRE(demands.size() == 1);
  CHECK(demands[0].resolver == "le");
  CHECK(demands[0].names == std::vector<std::string>{"api.example.com", "www.example.com"});
  CHECK(demands[0].router == "api@file");
}

TEST_CASE("certificate_demands: tls.domains win over the rule, one demand per domain") {
  config::Dynamic d;
  d.http.routers["a@file"] = router("Host(`a.example.com`)", "le",
                                    {{"example.com", {"*.example.com"}}, {"other.org", {}}});
  auto demands = acme::certificate_demands(d);
  REQUIRE(demands.size() == 2);
  CHECK(demands[0].names == std::vector<std::string>{"example.com", "*.example.com"});
  CHECK(demands[1].names == std::vector<std::string>{"other.org"});
}

TEST_CASE("certificate_demands: auto-routes share one wildcard certificate") {
  config::Dynamic d;
  for (const char* name : {"app-2816@docker", "db-2816@docker", "web-1234@docker"})
    d.http.routers[name] = router(std::string("Host(`") + name + ".example.com`)", "letsencrypt", {{"*.example.com", {}}});
  auto demands = acme::certificate_demands(d);
  REQUIRE(demands.size() == 1);
  CHECK(demands[0].names == std::vector<std::string>{"*.example.com"});
  CHECK(demands[0].router == "app-2816@docker");
}

TEST_CASE("certificate_demands: routers without a resolver, without tls, or passthrough are ignored") {
  config::Dynamic d;
  d.http.routers["plain@file"] = router("Host(`a.example.com`)", "");
  config::HttpRouter no_tls;
  no_tls.rule = "Host(`b.example.com`)";
  d.http.routers["notls@file"] = no_tls;
  d.http.routers["regex@file"] = router("HostRegexp(`^.+\\.example\\.com$`)", "le");
  d.http.routers["ip@file"] = router("Host(`127.0.0.1`)", "le");
  config::TcpRouter tcp;
  tcp.rule = "HostSNI(`db.example.com`)";
  tcp.tls = config::RouterTls{};
  tcp.tls->cert_resolver = "le";
  tcp.tls->passthrough = true;
  d.tcp.routers["pass@file"] = tcp;
  CHECK(acme::certificate_demands(d).empty());

  tcp.tls->passthrough = false;
  d.tcp.routers["pass@file"] = tcp;
  auto demands = acme::certificate_demands(d);
  REQUIRE(demands.size() == 1);
  CHECK(demands[0].names == std::vector<std::string>{"db.example.com"});
}

namespace {

config::StaticConfig entry_point_with_tls(std::string resolver, std::vector<config::Domain> domains = {}) {
  config::StaticConfig cfg;
  config::EntryPoint ep;
  ep.name = "websecure";
  ep.tls = true;
  ep.tls_cert_resolver = std::move(resolver);
  ep.tls_domains = std::move(domains);
  cfg.entry_points["websecure"] = ep;
  config::EntryPoint web;
  web.name = "web";
  cfg.entry_points["web"] = web;
  return cfg;
}

config::HttpRouter plain_router(std::string rule, std::vector<std::string> entry_points) {
  config::HttpRouter r;
  r.rule = std::move(rule);
  r.service = "svc";
  r.entry_points = std::move(entry_points);
  return r;
}

}  // namespace

TEST_CASE("certificate_demands: routers without tls take their entrypoint's certResolver (Traefik's model)") {
  auto cfg = entry_point_with_tls("le");
  config::Dynamic d;
  d.http.routers["x@file"] = plain_router("Host(`x.example.com`)", {"websecure"});
  d.http.routers["all@file"] = plain_router("Host(`all.example.com`)", {});
  d.http.routers["web@file"] = plain_router("Host(`web.example.com`)", {"web"});
  // A router with a tls of its own, even empty, keeps it: no resolver, no certificate.
  auto own = router("Host(`own.example.com`)", "");
  own.entry_points = {"websecure"};
  d.http.routers["own@file"] = own;
  config::TcpRouter tcp;
  tcp.rule = "HostSNI(`db.example.com`)";
  tcp.tls = config::RouterTls{};
  tcp.entry_points = {"websecure"};
  d.tcp.routers["db@file"] = tcp;
  CHECK(acme::certificate_demands(d).empty());
  auto demands = acme::certificate_demands(d, &cfg);
  REQUIRE(demands.size() == 2);
  CHECK(demands[0] == CertDemand{"le", {"all.example.com"}, "all@file"});
  CHECK(demands[1] == CertDemand{"le", {"x.example.com"}, "x@file"});
}

TEST_CASE("certificate_demands: an entrypoint's tls.domains are one certificate each, for its routers") {
  auto cfg = entry_point_with_tls("le", {{"example.test", {"*.example.test", "www.example.test"}}, {"other.test", {}}});
  config::Dynamic d;
  d.http.routers["a@file"] = plain_router("Host(`a.example.test`)", {"websecure"});
  d.http.routers["b@docker"] = plain_router("Host(`b.example.test`)", {"websecure"});
  auto demands = acme::certificate_demands(d, &cfg);
  REQUIRE(demands.size() == 2);
  CHECK(demands[0] == CertDemand{"le", {"example.test", "*.example.test", "www.example.test"}, "a@file"});
  CHECK(demands[1] == CertDemand{"le", {"other.test"}, "a@file"});
  // Without a router on the entrypoint nothing is requested (Traefik asks per router).
  CHECK(acme::certificate_demands(config::Dynamic{}, &cfg).empty());
}

TEST_CASE("names_cover: exact names and one-label wildcards") {
  std::vector<std::string> cert{"example.com", "*.example.com"};
  CHECK(acme::names_cover(cert, "example.com"));
  CHECK(acme::names_cover(cert, "App.Example.com."));
  CHECK(acme::names_cover(cert, "*.example.com"));
  CHECK_FALSE(acme::names_cover(cert, "a.b.example.com"));
  CHECK_FALSE(acme::names_cover(cert, "example.org"));
  CHECK_FALSE(acme::names_cover({"a.example.com"}, "*.example.com"));
  CHECK_FALSE(acme::names_cover({"*.a.example.com"}, "*.example.com"));
}
