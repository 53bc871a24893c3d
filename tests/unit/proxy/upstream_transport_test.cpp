#include <catch2/catch.hpp>

#include "config/static_config.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/upstream_transport.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

config::Dynamic https_service(const std::string& url, const std::string& transport) {
  config::Dynamic dyn;
  config::HttpService svc;
  svc.load_balancer.emplace();
  svc.load_balancer->servers.push_back(config::HttpServer{url});
  svc.load_balancer->servers_transport = transport;
  dyn.http.services["api@file"] = svc;
  return dyn;
}

}  // namespace

TEST_CASE("serversTransport: unreadable rootCAs are problems, the context is still built", "[upstream][tls]") {
  config::ServersTransport cfg;
  cfg.root_cas = {"/nonexistent/ca.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"};
  std::vector<std::string> problems;
  auto t = make_upstream_transport("t1@file", cfg, true, &problems);
  REQUIRE(t);
  CHECK(t->tls);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("serversTransport t1@file: rootCAs /nonexistent/ca.pem") == 0);
  CHECK(problems[1].find("inline certificate") != std::string::npos);
}

TEST_CASE("serversTransport: unchanged settings reuse the transport (stable pool keys)", "[upstream][tls]") {
  config::ServersTransport cfg;
  cfg.server_name = "api.internal";
  auto a = make_upstream_transport("t2@file", cfg, true, nullptr);
  auto b = make_upstream_transport("t2@file", cfg, true, nullptr);
  CHECK(a == b);
  cfg.insecure_skip_verify = true;
  auto c = make_upstream_transport("t2@file", cfg, true, nullptr);
  CHECK(c != a);
  CHECK(c->serial != a->serial);
  auto plain = make_upstream_transport("t2@file", cfg, false, nullptr);
  CHECK_FALSE(plain->tls);
}

TEST_CASE("https servers: TLS name, SNI for names only, pool key with transport", "[upstream][tls]") {
  config::StaticConfig cfg;
  HealthRegistry health;
  std::vector<std::string> problems;

  auto dyn = https_service("https://127.0.0.1:8443", "");
  auto rc = compile_runtime(dyn, cfg, health, &problems);
  CHECK(problems.empty());
  const auto& ip = rc->services.at(0).servers.at(0);
  CHECK(ip.tls_name == "127.0.0.1");
  CHECK(ip.tls_name_is_ip);
  REQUIRE(ip.transport);
  CHECK(ip.transport->tls);
  CHECK(ip.pool_key.rfind("https://127.0.0.1@127.0.0.1:8443#", 0) == 0);
  const std::string ip_pool_key = ip.pool_key;  // `ip` goes with this runtime, replaced below

  dyn = https_service("https://127.0.0.1:8443", "named@file");
  config::ServersTransport named;
  named.server_name = "api.internal";
  named.max_idle_conns_per_host = 3;
  dyn.http.servers_transports["named@file"] = named;
  rc = compile_runtime(dyn, cfg, health, &problems);
  const auto& s = rc->services.at(0).servers.at(0);
  CHECK(s.tls_name == "api.internal");
  CHECK_FALSE(s.tls_name_is_ip);
  CHECK(s.transport->max_idle_per_host == 3);
  CHECK(s.pool_key.find("api.internal@127.0.0.1:8443#named@file#") == 8);
  CHECK(s.pool_key != ip_pool_key);

  dyn = https_service("http://127.0.0.1:8080", "named@file");
  dyn.http.servers_transports["named@file"] = named;
  rc = compile_runtime(dyn, cfg, health, &problems);
  const auto& p = rc->services.at(0).servers.at(0);
  CHECK(p.pool_key == "http://127.0.0.1:8080");  // plain keys unchanged
  CHECK_FALSE(p.transport->tls);                  // no TLS context without https servers
}
