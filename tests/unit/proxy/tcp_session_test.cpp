// End-to-end TCP forwarding through a real TcpListener on loopback: the listener and the
// backends run on a worker thread, the test thread is the client with blocking sockets.
#include <catch2/catch.hpp>

#include <atomic>
#include <ctime>

#include <boost/asio/read.hpp>

#include "proxy/tcp_listener.hpp"
#include "tcp_test_util.hpp"

using namespace portier;
using namespace portier::proxy;
using namespace portier::proxy::test;
using Proto = config::EntryPoint::Protocol;

namespace {

struct Harness {
  WorkerThread worker;
  core::Snapshot<TcpRuntime> snapshot;
  std::unique_ptr<TcpListener> listener;
  std::mutex m;
  std::condition_variable cv;
  std::vector<TcpSessionStats> closed;
  uint64_t generation = 0;
  std::vector<std::unique_ptr<Backend>> backends;  // destroyed after the worker thread stopped

  explicit Harness(TcpListenerOptions opts = {}) {
    if (opts.entry_point.empty()) opts.entry_point = "tcp-1";
    opts.on_closed = [this](const TcpSessionStats& s) {
      std::lock_guard l(m);
      closed.push_back(s);
      cv.notify_all();
    };
    if (opts.session.peek.timeout == PeekLimits{}.timeout) opts.session.peek.timeout = 2s;
    tcp::acceptor acceptor(worker.ioc, {asio::ip::make_address("127.0.0.1"), 0});
    listener = std::make_unique<TcpListener>(std::move(acceptor), snapshot, std::move(opts));
    listener->start();
    worker.start();
  }
  ~Harness() {
    worker.sync([&] {
      listener->stop_accepting();
      listener->close_all();
    });
    worker.guard.reset();
    worker.ioc.stop();
    if (worker.thread.joinable()) worker.thread.join();
  }
  void publish(config::Dynamic& dyn) {
    auto cfg = static_config({{"tcp-1", Proto::tcp}});
    auto rt = compile_ok(dyn, cfg);
    rt->generation = ++generation;
    snapshot.publish(rt);
  }
  uint16_t port() const { return listener->local_endpoint().port(); }
  Backend& backend(Backend::Options o) {
    worker.sync([&] { backends.push_back(std::make_unique<Backend>(worker.ioc, o)); });
    return *backends.back();
  }
  TcpSessionStats wait_closed(size_t n) {
    std::unique_lock l(m);
    REQUIRE(cv.wait_for(l, 10s, [&] { return closed.size() >= n; }));
    return closed[n - 1];
  }
};

}  // namespace

TEST_CASE("TCP: SNI routes two TLS passthrough backends on one port, bytes untouched", "[tcp][session]") {
  Harness h;
  Backend& a = h.backend({"", 0});
  Backend& b = h.backend({"", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "a", "HostSNI(`a.example`)", "tcp-1", {a.port()}, true);
  add_tcp_route(dyn, "b", "HostSNI(`b.example`) && ALPN(`x-test`)", "tcp-1", {b.port()}, true);
  h.publish(dyn);

  std::string hello_a = client_hello("a.example");
  std::string hello_b = client_hello("B.Example", {"x-test"});
  bool one_byte_at_a_time = GENERATE(false, true);
  INFO("one byte at a time: " << one_byte_at_a_time);
  for (const std::string* hello : {&hello_a, &hello_b}) {
    int fd = connect_loopback(h.port());
    if (one_byte_at_a_time) {
      for (char c : *hello) send_all(fd, std::string_view(&c, 1));
    } else {
      send_all(fd, *hello);
    }
    send_all(fd, "after-hello");
    ::shutdown(fd, SHUT_WR);
    auto r = read_until(fd, 10s);
    CHECK(r.eof);
    ::close(fd);
  }
  auto got_a = a.wait_done(1);
  auto got_b = b.wait_done(1);
  REQUIRE(got_a.size() == 1);
  REQUIRE(got_b.size() == 1);
  CHECK(got_a[0] == hello_a + "after-hello");
  CHECK(got_b[0] == hello_b + "after-hello");
  auto stats = h.wait_closed(2);
  CHECK(stats.route == "b");
  CHECK(stats.from_client == hello_b.size() + 11);
  CHECK(stats.to_client == 0);
}

TEST_CASE("TCP: garbage first bytes go to HostSNI(*) as plain TCP, or are dropped", "[tcp][session]") {
  Harness h;
  Backend& tls_backend = h.backend({"", 0});
  Backend& plain = h.backend({"", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "sni", "HostSNI(`a.example`)", "tcp-1", {tls_backend.port()}, true);
  SECTION("with a catch-all") {
    add_tcp_route(dyn, "any", "HostSNI(`*`)", "tcp-1", {plain.port()});
    h.publish(dyn);
    for (std::string garbage : {std::string("EHLO there\r\n"), std::string("\x16\x03\x01\x00\x00junk", 9),
                                std::string("\x16\x03\x01\x00\x10\x07", 6) + std::string(16, 'x'),
                                std::string("\x16\x03\x01\x02\x00", 5) + "cut"}) {  // EOF mid-hello
      int fd = connect_loopback(h.port());
      send_all(fd, garbage);
      ::shutdown(fd, SHUT_WR);
      CHECK(read_until(fd, 10s).eof);
      ::close(fd);
    }
    auto got = plain.wait_done(4);
    REQUIRE(got.size() == 4);
    CHECK(got[3] == std::string("\x16\x03\x01\x02\x00", 5) + "cut");
    CHECK(got[0] == "EHLO there\r\n");
    CHECK(got[1] == std::string("\x16\x03\x01\x00\x00junk", 9));
    CHECK(tls_backend.accepted() == 0);
  }
  SECTION("without a catch-all the client is closed") {
    h.publish(dyn);
    int fd = connect_loopback(h.port());
    send_all(fd, "GET / HTTP/1.1\r\n\r\n");
    auto r = read_until(fd, 10s);
    CHECK((r.eof || r.reset));
    CHECK(r.data.empty());
    ::close(fd);
    CHECK(h.wait_closed(1).outcome == TcpSessionStats::Outcome::no_route);
    CHECK(tls_backend.accepted() == 0);
  }
}

TEST_CASE("TCP: server-speaks-first backend behind HostSNI(*) greets before the client sends", "[tcp][session]") {
  Harness h;
  Backend& smtp = h.backend({"220 smtp.example ESMTP\r\n", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "smtp", "HostSNI(`*`)", "tcp-1", {smtp.port()});
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  auto r = read_until(fd, 5s, 24);  // well under the 2 s peek timeout would not matter: no peek at all
  CHECK(r.data == "220 smtp.example ESMTP\r\n");
  send_all(fd, "QUIT\r\n");
  ::shutdown(fd, SHUT_WR);
  CHECK(read_until(fd, 10s).eof);
  ::close(fd);
  CHECK(smtp.wait_done(1).at(0) == "QUIT\r\n");
}

TEST_CASE("TCP: a silent client on a peeking entrypoint is routed as plain TCP after the peek timeout", "[tcp][session]") {
  TcpListenerOptions opts;
  opts.session.peek.timeout = 200ms;
  Harness h(opts);
  Backend& smtp = h.backend({"220 hi\r\n", 0});
  Backend& tls_backend = h.backend({"", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "sni", "HostSNI(`a.example`)", "tcp-1", {tls_backend.port()}, true);
  add_tcp_route(dyn, "smtp", "HostSNI(`*`)", "tcp-1", {smtp.port()});
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  CHECK(read_until(fd, 5s, 8).data == "220 hi\r\n");
  ::close(fd);
}

TEST_CASE("TCP: 12 MB each way with half-close, exact byte counts", "[tcp][session]") {
  bool splice = GENERATE(true, false);
  INFO("splice: " << splice);
  TcpListenerOptions opts;
  opts.session.use_splice = splice;
  Harness h(opts);
  constexpr size_t kUp = 10u << 20, kDown = 12u << 20;
  Backend& backend = h.backend({"", kDown});
  config::Dynamic dyn;
  add_tcp_route(dyn, "bulk", "HostSNI(`*`)", "tcp-1", {backend.port()});
  h.publish(dyn);

  int fd = connect_loopback(h.port());
  std::string up = Backend::pattern(kUp, 3);
  std::thread sender([&] {
    send_all(fd, up);
    ::shutdown(fd, SHUT_WR);  // half-close: the download must continue
  });
  auto r = read_until(fd, 30s);
  sender.join();
  CHECK(r.eof);
  CHECK(r.data.size() == kDown);
  CHECK(r.data == Backend::pattern(kDown, 7));
  auto got = backend.wait_done(1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].size() == kUp);
  CHECK(got[0] == up);
  auto stats = h.wait_closed(1);
  CHECK(stats.outcome == TcpSessionStats::Outcome::forwarded);
  CHECK(stats.from_client == kUp);
  CHECK(stats.to_client == kDown);
  ::close(fd);
}

TEST_CASE("TCP: half-close from the client keeps the backend's direction open", "[tcp][session]") {
  Harness h;
  Backend& backend = h.backend({"", 0});  // replies nothing, records until EOF
  config::Dynamic dyn;
  add_tcp_route(dyn, "x", "HostSNI(`*`)", "tcp-1", {backend.port()});
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  send_all(fd, "ping");
  ::shutdown(fd, SHUT_WR);
  CHECK(backend.wait_done(1).at(0) == "ping");  // the backend saw our FIN
  // The backend's side closes too (Backend closes after EOF when it has nothing to send).
  CHECK(read_until(fd, 10s).eof);
  ::close(fd);
}

TEST_CASE("TCP: backend refused closes the client cleanly", "[tcp][session]") {
  Harness h;
  uint16_t dead_port;
  {
    asio::io_context tmp;
    tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  config::Dynamic dyn;
  add_tcp_route(dyn, "dead", "HostSNI(`*`)", "tcp-1", {dead_port});
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  auto r = read_until(fd, 10s);
  CHECK(r.eof);
  CHECK(r.data.empty());
  ::close(fd);
  auto stats = h.wait_closed(1);
  CHECK(stats.outcome == TcpSessionStats::Outcome::dial_failed);
  CHECK(stats.backend == "127.0.0.1:" + std::to_string(dead_port));
}

TEST_CASE("TCP: idle timeout closes both sides", "[tcp][session]") {
  TcpListenerOptions opts;
  opts.session.idle_timeout = 200ms;
  Harness h(opts);
  Backend& backend = h.backend({"", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "x", "HostSNI(`*`)", "tcp-1", {backend.port()});
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  send_all(fd, "a");
  auto start = Clock::now();
  auto r = read_until(fd, 10s);
  CHECK((r.eof || r.reset));
  CHECK(Clock::now() - start >= 150ms);
  CHECK(backend.wait_done(1).at(0) == "a");
  ::close(fd);
}

TEST_CASE("TCP: load balancing alternates between servers", "[tcp][session]") {
  Harness h;
  Backend& one = h.backend({"1", 0});
  Backend& two = h.backend({"2", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "lb", "HostSNI(`*`)", "tcp-1", {one.port(), two.port()});
  h.publish(dyn);
  std::string seen;
  for (int i = 0; i < 4; ++i) {
    int fd = connect_loopback(h.port());
    seen += read_until(fd, 5s, 1).data;
    ::close(fd);
  }
  CHECK((seen == "1212" || seen == "2121"));
}

TEST_CASE("TCP: TLS-terminating route without a terminator refuses; with the hook it relays plaintext",
          "[tcp][session]") {
  // A stand-in terminator: "decrypts" by XOR-ing every byte with 0x20 (the real one comes from
  // the TLS store); it proves the hook's contract: it gets the socket with the ClientHello unread.
  struct XorStream : TcpClientStream {
    explicit XorStream(tcp::socket s) : s_(std::move(s)) {}
    awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer b) override {
      auto [ec, n] = co_await s_.async_read_some(b, use_tuple);
      for (size_t i = 0; i < n; ++i) static_cast<char*>(b.data())[i] ^= 0x20;
      co_return std::tuple{ec, n};
    }
    awaitable<std::tuple<error_code, size_t>> write_some(asio::const_buffer b) override {
      std::string x(static_cast<const char*>(b.data()), b.size());
      for (auto& c : x) c ^= 0x20;
      auto [ec, n] = co_await asio::async_write(s_, asio::buffer(x), use_tuple);
      co_return std::tuple{ec, n};
    }
    awaitable<void> shutdown_send() override {
      error_code ignored;
      s_.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    tcp::socket& socket() override { return s_; }
    tcp::socket s_;
  };
  std::atomic<int> hooked{0};
  std::string hello = client_hello("t.example");
  TcpListenerOptions opts;
  bool with_hook = GENERATE(false, true);
  if (with_hook) {
    opts.session.terminate_tls = [&](tcp::socket s, const TcpRouteRuntime* route,
                                     const PeekResult& peek) -> awaitable<std::unique_ptr<TcpClientStream>> {
      ++hooked;
      CHECK((route && route->name == "term"));
      CHECK(peek.sni == "t.example");
      // The ClientHello is still in the socket: consume it like a handshake would.
      std::string buf(hello.size(), '\0');
      auto [ec, n] = co_await asio::async_read(s, asio::buffer(buf), use_tuple);
      if (ec || buf != hello) co_return nullptr;
      co_return std::make_unique<XorStream>(std::move(s));
    };
  }
  Harness h(opts);
  Backend& backend = h.backend({"HELLO", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "term", "HostSNI(`t.example`)", "tcp-1", {backend.port()}, false);
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  send_all(fd, hello);
  if (!with_hook) {
    auto r = read_until(fd, 10s);
    CHECK(r.data.empty());
    CHECK(h.wait_closed(1).outcome == TcpSessionStats::Outcome::no_server);
  } else {
    send_all(fd, "PING");  // "ciphertext" of "ping"
    ::shutdown(fd, SHUT_WR);
    auto r = read_until(fd, 10s);
    CHECK(r.eof);
    CHECK(r.data == "hello");
    CHECK(backend.wait_done(1).at(0) == "ping");
    CHECK(hooked == 1);
  }
  ::close(fd);
}

TEST_CASE("TCP: an acme-tls/1 ClientHello is a TLS-ALPN-01 validation, answered before routing",
          "[tcp][session]") {
  const bool answer = GENERATE(true, false);  // false: allowACMEByPass, the router takes it
  std::atomic<int> validations{0};
  TcpListenerOptions opts;
  opts.session.answer_acme_tls = answer;
  opts.session.terminate_tls = [&](tcp::socket s, const TcpRouteRuntime* route,
                                   const PeekResult& peek) -> awaitable<std::unique_ptr<TcpClientStream>> {
    CHECK(route == nullptr);
    CHECK(peek.offers_alpn("acme-tls/1"));
    ++validations;
    s.close();
    co_return nullptr;
  };
  Harness h(opts);
  Backend& backend = h.backend({"", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "pass", "HostSNI(`v.example`)", "tcp-1", {backend.port()}, true);
  h.publish(dyn);
  int fd = connect_loopback(h.port());
  send_all(fd, client_hello("v.example", {"acme-tls/1"}));
  if (answer) {
    CHECK(h.wait_closed(1).outcome == TcpSessionStats::Outcome::tls_failed);  // the stand-in refused
    CHECK(validations == 1);
    CHECK(backend.accepted() == 0);
  } else {
    ::shutdown(fd, SHUT_WR);
    CHECK(backend.wait_done(1).size() == 1);  // the passthrough router got the ClientHello
    CHECK(validations == 0);
  }
  ::close(fd);
}

TEST_CASE("TCP: connection limit pauses accepting until a session ends", "[tcp][session]") {
  TcpListenerOptions opts;
  opts.max_connections = 1;
  Harness h(opts);
  Backend& backend = h.backend({"hi", 0});
  config::Dynamic dyn;
  add_tcp_route(dyn, "x", "HostSNI(`*`)", "tcp-1", {backend.port()});
  h.publish(dyn);
  int first = connect_loopback(h.port());
  CHECK(read_until(first, 5s, 2).data == "hi");
  int second = connect_loopback(h.port());  // completes in the kernel backlog
  CHECK(read_until(second, 300ms, 2).timeout);  // not served while the first is open
  ::shutdown(first, SHUT_WR);
  CHECK(read_until(first, 5s).eof);
  ::close(first);
  CHECK(read_until(second, 5s, 2).data == "hi");
  ::close(second);
}

// Hidden (run with "[.bench]"): throughput of the splice relay against the read/write relay.
TEST_CASE("TCP relay throughput: splice vs read/write", "[.bench]") {
  for (bool splice : {true, false, true, false}) {
    TcpListenerOptions opts;
    opts.session.use_splice = splice;
    Harness h(opts);
    Backend& backend = h.backend({"", 0, false});
    config::Dynamic dyn;
    add_tcp_route(dyn, "bulk", "HostSNI(`*`)", "tcp-1", {backend.port()});
    h.publish(dyn);
    constexpr size_t kTotal = 1024u << 20;
    std::string chunk = Backend::pattern(1 << 20, 1);
    int fd = connect_loopback(h.port());
    auto start = Clock::now();
    std::clock_t cpu0 = std::clock();
    for (size_t sent = 0; sent < kTotal; sent += chunk.size()) send_all(fd, chunk);
    ::shutdown(fd, SHUT_WR);
    CHECK(read_until(fd, 60s).eof);
    auto secs = std::chrono::duration<double>(Clock::now() - start).count();
    double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    auto stats = h.wait_closed(1);
    CHECK(stats.from_client == kTotal);
    WARN((splice ? "splice    " : "read/write") << ": " << (kTotal >> 20) / secs << " MiB/s, process CPU " << cpu << " s (client + relay + backend)");
    ::close(fd);
  }
}
