// Pins down the Asio behaviour the peek, splice and UDP loops rely on: the epoll reactor is
// edge-triggered, but async_wait on an idle descriptor re-arms it (EPOLL_CTL_MOD), so bytes that
// arrived while nobody waited still complete the wait.
#include <catch2/catch.hpp>

#include "tcp_test_util.hpp"

using namespace portier::proxy;
using namespace portier::proxy::test;

TEST_CASE("Asio: async_wait(wait_read) sees bytes that arrived before it was queued", "[tcp][asio]") {
  asio::io_context ioc{1};
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  int client = connect_loopback(acceptor.local_endpoint().port());
  tcp::socket server = acceptor.accept();
  send_all(client, "x");
  // Let the reactor see (and consume) the readiness edge while no operation is queued.
  server.async_wait(tcp::socket::wait_write, [](error_code) {});
  ioc.run_for(std::chrono::milliseconds(100));
  ioc.restart();
  bool woke = false;
  server.async_wait(tcp::socket::wait_read, [&](error_code ec) { woke = !ec; });
  ioc.run_for(std::chrono::milliseconds(300));
  CHECK(woke);
  char c;
  CHECK(::recv(server.native_handle(), &c, 1, MSG_DONTWAIT) == 1);
  ::close(client);
}
