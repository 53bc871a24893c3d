#include <catch2/catch.hpp>

#include "proxy/udp_forwarder.hpp"
#include "tcp_test_util.hpp"

using namespace portier;
using namespace portier::proxy;
using namespace portier::proxy::test;
using Proto = config::EntryPoint::Protocol;

namespace {

// Echoes every datagram back prefixed with its own tag, so the client can tell which backend
// answered.
awaitable<void> echo(udp::socket& s, std::string tag) {
  char buf[65536];
  for (;;) {
    udp::endpoint from;
    auto [ec, n] = co_await s.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (ec) co_return;
    std::string reply = tag + std::string(buf, n);
    co_await s.async_send_to(asio::buffer(reply), from, use_tuple);
  }
}

struct UdpHarness {
  WorkerThread worker;
  core::Snapshot<TcpRuntime> snapshot;
  udp::socket backend_a{worker.ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  udp::socket backend_b{worker.ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::unique_ptr<UdpForwarder> fwd;

  explicit UdpHarness(std::chrono::milliseconds timeout) {
    config::Dynamic dyn;
    dyn.udp.services["echo"].servers = {{"127.0.0.1:" + std::to_string(backend_a.local_endpoint().port()), 1},
                                        {"127.0.0.1:" + std::to_string(backend_b.local_endpoint().port()), 1}};
    dyn.udp.routers["echo"] = {{"udp-53"}, "echo", ""};
    auto cfg = static_config({{"udp-53", Proto::udp}});
    snapshot.publish(compile_ok(dyn, cfg));
    std::string error;
    auto sock = open_udp_socket(worker.ioc, {asio::ip::make_address("127.0.0.1"), 0}, false, &error);
    REQUIRE(sock.is_open());
    fwd = std::make_unique<UdpForwarder>(std::move(sock), snapshot, UdpForwarderOptions{"udp-53", timeout, 16384});
    fwd->start();
    asio::co_spawn(worker.ioc, echo(backend_a, "A:"), asio::detached);
    asio::co_spawn(worker.ioc, echo(backend_b, "B:"), asio::detached);
    worker.start();
  }
  ~UdpHarness() {
    worker.sync([&] {
      fwd->stop();
      backend_a.close();
      backend_b.close();
    });
    worker.guard.reset();
    worker.ioc.stop();
    worker.thread.join();
  }
  size_t sessions() {
    size_t n = 0;
    worker.sync([&] { n = fwd->sessions(); });
    return n;
  }
};

int udp_client() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

void send_to(int fd, uint16_t port, const std::string& data) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(data.size()));
}

// One datagram, or "" after the timeout; `from_port` is where it came from.
std::string recv_one(int fd, std::chrono::milliseconds timeout, uint16_t* from_port = nullptr) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
  char buf[65536];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (from_port) *from_port = ntohs(from.sin_port);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

TEST_CASE("UDP: 200 concurrent clients each get their own replies from the entrypoint's socket", "[udp]") {
  UdpHarness h(10s);
  uint16_t port = h.fwd->local_endpoint().port();
  constexpr int kClients = 200;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) fds.push_back(udp_client());
  std::vector<std::string> backend_of(kClients);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kClients; ++i) send_to(fds[i], port, "c" + std::to_string(i) + "r" + std::to_string(round));
    for (int i = 0; i < kClients; ++i) {
      uint16_t from = 0;
      std::string reply = recv_one(fds[i], 5s, &from);
      INFO("client " << i << " round " << round << " dropped " << h.fwd->dropped());
      REQUIRE(reply.size() > 2);
      CHECK(from == port);  // replies come from the entrypoint's own socket
      CHECK(reply.substr(2) == "c" + std::to_string(i) + "r" + std::to_string(round));
      if (round == 0) backend_of[i] = reply.substr(0, 2);
      CHECK(reply.substr(0, 2) == backend_of[i]);  // one session = one backend
    }
  }
  int a = static_cast<int>(std::count(backend_of.begin(), backend_of.end(), "A:"));
  int b = static_cast<int>(std::count(backend_of.begin(), backend_of.end(), "B:"));
  CHECK(a == kClients / 2);  // round robin by session
  CHECK(b == kClients / 2);
  CHECK(h.sessions() == kClients);
  CHECK(h.fwd->dropped() == 0);
  for (int fd : fds) ::close(fd);
}

TEST_CASE("UDP: idle sessions expire and a new datagram opens a fresh one", "[udp]") {
  UdpHarness h(150ms);
  uint16_t port = h.fwd->local_endpoint().port();
  int fd = udp_client();
  send_to(fd, port, "x");
  std::string first = recv_one(fd, 5s);
  REQUIRE(first.size() == 3);
  CHECK(h.sessions() == 1);
  // Wait (bounded) for the expiry; keep the deadline generous, the condition is the sync point.
  auto deadline = Clock::now() + 5s;
  while (h.sessions() != 0 && Clock::now() < deadline) std::this_thread::yield();
  CHECK(h.sessions() == 0);
  send_to(fd, port, "y");
  std::string second = recv_one(fd, 5s);
  REQUIRE(second.size() == 3);
  CHECK(second.substr(2) == "y");
  CHECK(second.substr(0, 2) != first.substr(0, 2));  // the new session went round robin
  ::close(fd);
}

TEST_CASE("UDP: traffic keeps a session alive past its timeout", "[udp]") {
  UdpHarness h(300ms);
  uint16_t port = h.fwd->local_endpoint().port();
  int fd = udp_client();
  std::string backend;
  auto start = Clock::now();
  while (Clock::now() - start < 900ms) {
    send_to(fd, port, "k");
    std::string r = recv_one(fd, 5s);
    REQUIRE(r.size() == 3);
    if (backend.empty()) backend = r.substr(0, 2);
    CHECK(r.substr(0, 2) == backend);  // same session all along
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 50);  // pacing the client, not synchronisation
  }
  CHECK(h.sessions() == 1);
  ::close(fd);
}
