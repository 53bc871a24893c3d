#include <catch2/catch.hpp>

#include "proxy/tcp_runtime.hpp"
#include "tcp_test_util.hpp"

using namespace portier;
using namespace portier::proxy;
using Proto = config::EntryPoint::Protocol;

namespace {

ConnView tls_conn(std::string_view sni) { return ConnView{sni, {}, boost::asio::ip::make_address("10.0.0.1"), true}; }
ConnView plain_conn() { return ConnView{"", {}, boost::asio::ip::make_address("10.0.0.1"), false}; }

}  // namespace

TEST_CASE("TCP routes: priority by rule length, bare HostSNI(*) last, explicit priority wins", "[tcp][runtime]") {
  auto cfg = test::static_config({{"tcp-1", Proto::tcp}, {"web", Proto::tcp}, {"dns", Proto::udp}});
  config::Dynamic dyn;
  test::add_tcp_route(dyn, "any", "HostSNI(`*`)", "tcp-1", {1001});
  test::add_tcp_route(dyn, "short", "HostSNI(`a.io`)", "tcp-1", {1002}, true);
  test::add_tcp_route(dyn, "regex", "HostSNIRegexp(`^.+\\.io$`)", "tcp-1", {1003}, true);
  auto rt = test::compile_ok(dyn, cfg);
  int e = rt->entry_index("tcp-1");
  REQUIRE(e >= 0);
  CHECK(rt->entry_index("dns") < 0);
  CHECK(rt->udp_entry_index("dns") == 0);
  CHECK(rt->route(e, tls_conn("a.io"))->name == "regex");  // longer rule first
  CHECK(rt->route(e, tls_conn("b.io"))->name == "regex");
  CHECK(rt->route(e, tls_conn("b.com"))->name == "any");  // TLS falls back to plain routes
  CHECK(rt->route(e, plain_conn())->name == "any");
  CHECK(rt->entries[static_cast<size_t>(e)].needs_peek);

  dyn.tcp.routers["short"].priority = 1000;
  rt = test::compile_ok(dyn, cfg);
  CHECK(rt->route(e, tls_conn("a.io"))->name == "short");
}

TEST_CASE("TCP routes: needs_peek is false only for non-TLS HostSNI(*) routes", "[tcp][runtime]") {
  auto cfg = test::static_config({{"tcp-1", Proto::tcp}, {"tcp-2", Proto::tcp}, {"tcp-3", Proto::tcp}});
  config::Dynamic dyn;
  test::add_tcp_route(dyn, "smtp", "HostSNI(`*`)", "tcp-1", {25});
  test::add_tcp_route(dyn, "pt", "HostSNI(`*`)", "tcp-2", {26}, true);
  test::add_tcp_route(dyn, "ip", "ClientIP(`10.0.0.0/8`)", "tcp-3", {27});
  auto rt = test::compile_ok(dyn, cfg);
  CHECK_FALSE(rt->entries[static_cast<size_t>(rt->entry_index("tcp-1"))].needs_peek);
  CHECK(rt->entries[static_cast<size_t>(rt->entry_index("tcp-2"))].needs_peek);
  CHECK(rt->entries[static_cast<size_t>(rt->entry_index("tcp-3"))].needs_peek);
  CHECK(rt->route(static_cast<size_t>(rt->entry_index("tcp-3")), plain_conn())->name == "ip");
}

TEST_CASE("TCP runtime reports unusable routers and services, all at once", "[tcp][runtime]") {
  auto cfg = test::static_config({{"tcp-1", Proto::tcp}, {"u", Proto::udp}});
  config::Dynamic dyn;
  test::add_tcp_route(dyn, "nosni", "HostSNI(`a.io`)", "tcp-1", {1});  // host name without tls
  test::add_tcp_route(dyn, "bad", "HostSNI(`a.io`", "tcp-1", {1}, true);
  dyn.tcp.routers["orphan"] = {"HostSNI(`*`)", {"tcp-1"}, {}, "missing", 0, std::nullopt, ""};
  dyn.tcp.services["badaddr"].servers.push_back({"no-port", 1});
  dyn.udp.services["dns"].servers.push_back({"127.0.0.1:53", 1});
  dyn.udp.routers["a"] = {{"u"}, "dns", ""};
  dyn.udp.routers["b"] = {{"u"}, "dns", ""};
  std::vector<std::string> problems;
  auto rt = compile_tcp_runtime(dyn, cfg, &problems);
  CHECK(problems.size() == 5);
  CHECK(rt->routes.empty());
  REQUIRE(rt->udp_entries.size() == 1);
  CHECK(rt->udp_entries[0].router == "a");
  CHECK(rt->udp_services[0].servers.size() == 1);
}

TEST_CASE("TCP transports: a named transport's proxyProtocol and terminationDelay win, else the service's",
          "[tcp][runtime]") {
  auto cfg = test::static_config({{"tcp-1", Proto::tcp}});
  cfg.tcp_servers_transport.dial_timeout = std::chrono::milliseconds(1234);
  config::Dynamic dyn;
  test::add_tcp_route(dyn, "own", "HostSNI(`*`)", "tcp-1", {1});
  test::add_tcp_route(dyn, "named", "HostSNI(`*`)", "tcp-1", {2});
  test::add_tcp_route(dyn, "internal", "HostSNI(`*`)", "tcp-1", {3});
  test::add_tcp_route(dyn, "plain", "HostSNI(`*`)", "tcp-1", {4});
  auto& own = dyn.tcp.services["own-svc"];
  own.proxy_protocol = config::TcpProxyProtocol{1};
  own.termination_delay = 250;
  auto& named = dyn.tcp.services["named-svc"];
  named.proxy_protocol = config::TcpProxyProtocol{1};  // ignored: the transport's win
  named.termination_delay = 250;
  named.servers_transport = "t";
  named.servers[0].tls = true;
  config::TcpServersTransport t;
  t.dial_timeout = std::chrono::milliseconds(500);
  t.termination_delay = std::chrono::milliseconds(42);
  t.tls = config::TcpClientTls{"db.internal", false, {}, {}};
  dyn.tcp.servers_transports["t"] = t;
  dyn.tcp.services["internal-svc"].servers_transport = config::kDefaultTransport;
  auto rt = test::compile_ok(dyn, cfg);
  auto svc = [&](const std::string& name) -> const TcpServiceRuntime& {
    for (const auto& s : rt->services)
      if (s.name == name) return s;
    FAIL("no service " << name);
    return rt->services.front();
  };
  CHECK(svc("own-svc").proxy_protocol == 1);
  CHECK(svc("own-svc").termination_delay == std::chrono::milliseconds(250));
  CHECK(svc("own-svc").transport->name == "default@internal");
  CHECK(svc("own-svc").transport->dial_timeout == std::chrono::milliseconds(1234));
  CHECK_FALSE(svc("own-svc").transport->tls);  // no server with tls: no context built
  CHECK(svc("named-svc").proxy_protocol == 0);
  CHECK(svc("named-svc").termination_delay == std::chrono::milliseconds(42));
  CHECK(svc("named-svc").transport->dial_timeout == std::chrono::milliseconds(500));
  CHECK(svc("named-svc").transport->server_name == "db.internal");
  CHECK(svc("named-svc").transport->tls);
  CHECK(svc("named-svc").servers[0].tls);
  // default@internal named explicitly: the static transport, with its own terminationDelay.
  CHECK(svc("internal-svc").transport == svc("own-svc").transport);
  CHECK(svc("internal-svc").termination_delay == std::chrono::milliseconds(100));
  CHECK(svc("plain-svc").proxy_protocol == 0);
  CHECK(svc("plain-svc").termination_delay.count() < 0);  // none: wait for the other side
}

TEST_CASE("Weighted schedule is smooth and proportional", "[tcp][runtime]") {
  auto s = weighted_schedule({3, 1});
  REQUIRE(s.size() == 4);
  CHECK(std::count(s.begin(), s.end(), 0u) == 3);
  CHECK(s != std::vector<uint32_t>{0, 0, 0, 1});  // interleaved, not in blocks
  CHECK(weighted_schedule({2, 2}).size() == 2);
  CHECK(weighted_schedule({}).empty());
  // Weight 0 is never chosen (Traefik ignores non-positive weights); none positive: no order.
  CHECK(weighted_schedule({0, 2, 0, 1}) == std::vector<uint32_t>{1, 3, 1});
  CHECK(weighted_schedule({0, 0}).empty());
}

TEST_CASE("Shared HTTP+TCP entrypoint dispatch", "[tcp][runtime]") {
  auto cfg = test::static_config({{"websecure", Proto::tcp}});
  config::Dynamic dyn;
  test::add_tcp_route(dyn, "db", "HostSNI(`db.io`)", "websecure", {1}, true);
  auto rt = test::compile_ok(dyn, cfg);
  auto https = [](std::string_view sni) { return sni == "www.io" || sni == "db.io"; };
  CHECK(decide_shared(*rt, 0, tls_conn("www.io"), https) == SharedDispatch::http);
  CHECK(decide_shared(*rt, 0, tls_conn("db.io"), https) == SharedDispatch::http);  // HTTPS router wins
  CHECK(decide_shared(*rt, 0, tls_conn("db.io"), nullptr) == SharedDispatch::tcp);
  CHECK(decide_shared(*rt, 0, tls_conn("other.io"), https) == SharedDispatch::http);
  CHECK(decide_shared(*rt, 0, plain_conn(), https) == SharedDispatch::http);
}
