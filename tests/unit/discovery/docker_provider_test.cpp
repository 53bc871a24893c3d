// Docker client parsers (always) and the client/provider against a real dockerd ([docker],
// run only when PORTIER_TEST_DOCKER_SOCK names the socket of a daemon that has the image
// test/busybox:1, e.g. `python3 tests/e2e/dockerd.py --run build/tests/unit_discovery "[docker]"`).
#include "discovery/docker_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <arpa/inet.h>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "discovery/docker_client.hpp"

using namespace portier::discovery;
namespace asio = boost::asio;
using asio::awaitable;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

TEST_CASE("docker client: parse inspect", "[dockerclient]") {
  const char* json = R"({"Id":"abc","Name":"/web-1",
    "Config":{"Labels":{"traefik.enable":"true","rediacc.service_ip":"127.0.11.2"},
              "ExposedPorts":{"8080/tcp":{},"53/udp":{},"443/tcp":{}}},
    "HostConfig":{"NetworkMode":"bridge"},
    "NetworkSettings":{"Networks":{"b":{"IPAddress":"172.18.0.2"},"a":{"IPAddress":""}}},
    "State":{"Status":"running","Health":{"Status":"healthy"}}})";
  auto c = DockerClient::parse_inspect(json, "unix:///x.sock");
  REQUIRE(c);
  CHECK(c->id == "abc");
  CHECK(c->name == "web-1");
  CHECK(c->labels.at("rediacc.service_ip") == "127.0.11.2");
  CHECK(c->ports == std::vector<int>{443, 8080});
  CHECK(c->network_mode == "bridge");
  CHECK(c->networks.at("b") == "172.18.0.2");
  CHECK(c->state == "running");
  CHECK(c->health == "healthy");
  CHECK(c->endpoint == "unix:///x.sock");
  std::string error;
  CHECK_FALSE(DockerClient::parse_inspect("{", "e", &error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("docker client: parse inspect port bindings and IPv6-only networks", "[dockerclient]") {
  const char* json = R"({"Id":"abc","Name":"/web",
    "NetworkSettings":{
      "Networks":{"v6":{"IPAddress":"","GlobalIPv6Address":"fd00::5"},"none":null},
      "Ports":{"80/tcp":[{"HostIp":"127.0.110.3","HostPort":"18080"},{"HostIp":"::1","HostPort":"18080"}],
               "53/udp":[{"HostIp":"","HostPort":"1053"}], "53/tcp":[{"HostIp":"0.0.0.0","HostPort":"2053"}],
               "81/tcp":null, "82/tcp":[], "x/tcp":[{"HostIp":"1.1.1.1","HostPort":"1"}],
               "83/sctp":[{"HostIp":"1.1.1.1","HostPort":"1"}]}},
    "State":{"Status":"running"}})";
  auto c = DockerClient::parse_inspect(json, "unix:///x.sock");
  REQUIRE(c);
  CHECK(c->networks.at("v6") == "fd00::5");
  CHECK(c->networks.at("none").empty());
  REQUIRE(c->port_bindings.size() == 2);
  CHECK(c->port_bindings.at(80) == PortBinding{"127.0.110.3", "18080"});
  CHECK(c->port_bindings.at(53) == PortBinding{"0.0.0.0", "2053"});  // tcp before udp
}

TEST_CASE("docker client: parse events", "[dockerclient]") {
  auto e = DockerClient::parse_event(
      R"({"status":"kill","id":"abc","Type":"container","Action":"kill","Actor":{"ID":"abc","Attributes":{"name":"web","signal":"15"}},"time":1700000000})");
  REQUIRE(e);
  CHECK(e->action == "kill");
  CHECK(e->id == "abc");
  CHECK(e->name == "web");
  CHECK(e->attributes.at("signal") == "15");
  CHECK(e->time == 1700000000);
  auto h = DockerClient::parse_event(R"({"Type":"container","Action":"health_status: unhealthy","Actor":{"ID":"x"}})");
  REQUIRE(h);
  CHECK(h->action == "health_status: unhealthy");
  CHECK_FALSE(DockerClient::parse_event(R"({"Type":"network","Action":"connect","Actor":{"ID":"n"}})"));
  CHECK_FALSE(DockerClient::parse_event("garbage"));
}

// Checked with tests/fuzz/docker_json_fuzz: "time":1e300 converted a double out of int64_t's
// range (undefined behaviour, reported by UBSan); ports out of range or with junk were taken.
TEST_CASE("docker client: odd numbers in events and inspect answers", "[dockerclient][fuzz]") {
  auto e = DockerClient::parse_event(R"({"Type":"container","Action":"start","Actor":{"ID":"x"},"time":1e300})");
  REQUIRE(e);
  CHECK(e->time == 0);
  auto c = DockerClient::parse_inspect(
      R"({"Id":"abc","Config":{"ExposedPorts":{"99999999999/tcp":{},"80abc/tcp":{},"65536/tcp":{},"8080":{},"443/tcp":{}}}})",
      "e");
  REQUIRE(c);
  CHECK(c->ports == std::vector<int>{443, 8080});
}

TEST_CASE("docker provider: globs expand to the sockets present", "[dockerclient]") {
  char dir[] = "/tmp/portier-glob-XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string base = dir;
  asio::io_context ioc;
  asio::local::stream_protocol::acceptor a(ioc, asio::local::stream_protocol::endpoint(base + "/docker-1.sock"));
  std::FILE* f = std::fopen((base + "/docker-2.sock").c_str(), "w");  // a plain file: not a socket
  std::fclose(f);
  auto eps = DockerProvider::expand_endpoints({"unix://" + base + "/docker-*.sock", "tcp://10.0.0.1:2375",
                                               "unix:///nonexistent/docker.sock"});
  CHECK(eps == std::vector<std::string>{"tcp://10.0.0.1:2375", "unix:///nonexistent/docker.sock",
                                        "unix://" + base + "/docker-1.sock"});
  std::filesystem::remove_all(base);
}

// ---- against a real daemon ----------------------------------------------------------------
namespace {

const char* docker_sock() { return std::getenv("PORTIER_TEST_DOCKER_SOCK"); }

std::string cli() {
  const char* c = std::getenv("PORTIER_TEST_DOCKER_CLI");
  return std::string(c ? c : "/usr/bin/docker") + " -H unix://" + docker_sock() + " ";
}

int run_cli(const std::string& args) { return std::system((cli() + args + " >/dev/null 2>&1").c_str()); }

uint16_t free_port(const char* ip) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sa.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// Polls `pred` every 20 ms until true or the deadline; returns whether it became true.
template <class Pred>
awaitable<bool> wait_for(Pred pred, std::chrono::milliseconds deadline) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) co_return false;
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(tok);
  }
  co_return true;
}

std::string run_args(const std::string& name, const std::string& ip, uint16_t port) {
  return "run -d --network host --name " + name + " -l traefik.enable=true -l rediacc.service_ip=" + ip +
         " -l traefik.http.routers." + name + ".rule=Host\\(\\`" + name + ".test\\`\\)" +
         " -l traefik.http.services." + name + ".loadbalancer.server.port=" + std::to_string(port) +
         " test/busybox:1 /bin/httpd -f -p " + ip + ":" + std::to_string(port) + " -h /";
}

}  // namespace

TEST_CASE("docker client against a real daemon", "[docker]") {
  if (!docker_sock()) {
    WARN("PORTIER_TEST_DOCKER_SOCK not set: skipped");
    return;
  }
  std::string name = "pc" + std::to_string(getpid());
  uint16_t port = free_port("127.0.11.5");
  REQUIRE(run_cli(run_args(name, "127.0.11.5", port)) == 0);
  asio::io_context ioc;
  DockerClient client(ioc.get_executor(), std::string("unix://") + docker_sock());
  DockerResult<ContainerInfo> info;
  DockerResult<std::vector<std::string>> ids;
  DockerResult<bool> ping;
  asio::co_spawn(ioc, [&]() -> awaitable<void> {
    ping = co_await client.ping();
    ids = co_await client.list_container_ids();
    if (ids.ok() && !ids.value.empty()) info = co_await client.inspect(name);
  }, asio::detached);
  ioc.run();
  run_cli("rm -f " + name);
  REQUIRE(ping.ok());
  REQUIRE(ids.ok());
  CHECK_FALSE(ids.value.empty());
  REQUIRE(info.ok());
  CHECK(info.value.name == name);
  CHECK(info.value.network_mode == "host");
  CHECK(info.value.state == "running");
  CHECK(info.value.labels.at("rediacc.service_ip") == "127.0.11.5");
}

TEST_CASE("docker provider against a real daemon: start routes within 1 s, stop leaves before death",
          "[docker]") {
  if (!docker_sock()) {
    WARN("PORTIER_TEST_DOCKER_SOCK not set: skipped");
    return;
  }
  std::string name = "pp" + std::to_string(getpid());
  uint16_t port = free_port("127.0.11.6");
  asio::io_context ioc;
  DockerProviderOptions o;
  o.endpoints = {std::string("unix://") + docker_sock()};
  int changes = 0;
  DockerProvider provider(ioc.get_executor(), o, [&](const auto&, const auto&) { ++changes; });
  auto has_router = [&] { return provider.fragment().dynamic.http.routers.count(name) == 1; };
  std::atomic<bool> run_done{false}, stop_done{false};
  std::thread worker;
  bool connected = false, routed = false, removed_early = false, dead = false;
  std::chrono::milliseconds route_latency{0};
  std::chrono::steady_clock::time_point run_returned;
  asio::co_spawn(ioc, [&]() -> awaitable<void> {
    provider.start();
    connected = co_await wait_for([&] {
      auto s = provider.status();
      return s.size() == 1 && s[0].status == "connected";
    }, std::chrono::seconds(10));
    worker = std::thread([&] {
      run_cli(run_args(name, "127.0.11.6", port));
      run_returned = std::chrono::steady_clock::now();
      run_done = true;
    });
    routed = co_await wait_for([&] { return has_router(); }, std::chrono::seconds(15));
    co_await wait_for([&] { return run_done.load(); }, std::chrono::seconds(15));
    if (routed) route_latency = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - run_returned);
    worker.join();
    // httpd as PID 1 ignores SIGTERM: `docker stop -t 5` keeps it alive for 5 s.
    worker = std::thread([&] {
      run_cli("stop -t 5 " + name);
      stop_done = true;
    });
    removed_early = co_await wait_for([&] { return !has_router(); }, std::chrono::seconds(4));
    removed_early = removed_early && !stop_done;
    dead = co_await wait_for([&] { return stop_done.load(); }, std::chrono::seconds(20));
    worker.join();
    provider.stop();
  }, asio::detached);
  ioc.run_for(std::chrono::seconds(60));
  run_cli("rm -f " + name);
  CHECK(connected);
  CHECK(routed);
  CHECK(route_latency < std::chrono::milliseconds(1000));
  CHECK(removed_early);
  CHECK(dead);
  CHECK(changes >= 3);  // empty, routed, removed
  CHECK(ioc.stopped());  // stop() let every coroutine finish
}
