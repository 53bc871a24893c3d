#pragma once
// Helpers for the TCP/UDP forwarding tests: an io_context on its own thread (the "worker"),
// loopback backends living on it, blocking client sockets with deadlines, OpenSSL ClientHellos.
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"
#include "proxy/asio.hpp"
#include "proxy/tcp_runtime.hpp"

namespace portier::proxy::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct WorkerThread {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  void start() { thread = std::thread([this] { ioc.run(); }); }
  // Runs f on the worker thread and waits for it.
  template <class F>
  void sync(F f) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    asio::post(ioc, [&] {
      f();
      std::lock_guard l(m);
      done = true;
      cv.notify_all();
    });
    std::unique_lock l(m);
    cv.wait(l, [&] { return done; });
  }
  ~WorkerThread() {
    guard.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
};

inline config::StaticConfig static_config(std::vector<std::pair<std::string, config::EntryPoint::Protocol>> eps) {
  config::StaticConfig cfg;
  for (auto& [name, proto] : eps) {
    config::EntryPoint ep;
    ep.name = name;
    ep.protocol = proto;
    cfg.entry_points[name] = ep;
  }
  return cfg;
}

inline std::shared_ptr<TcpRuntime> compile_ok(const config::Dynamic& dyn, const config::StaticConfig& cfg) {
  std::vector<std::string> problems;
  auto rt = compile_tcp_runtime(dyn, cfg, &problems);
  for (auto& p : problems) UNSCOPED_INFO(p);
  REQUIRE(problems.empty());
  return rt;
}

inline void add_tcp_route(config::Dynamic& dyn, const std::string& name, const std::string& rule, const std::string& entry,
                          std::vector<uint16_t> ports, std::optional<bool> tls_passthrough = std::nullopt) {
  config::TcpRouter r;
  r.rule = rule;
  r.entry_points = {entry};
  r.service = name + "-svc";
  if (tls_passthrough) {
    r.tls = config::RouterTls{};
    r.tls->passthrough = *tls_passthrough;
  }
  dyn.tcp.routers[name] = r;
  config::TcpService svc;
  for (uint16_t p : ports) svc.servers.push_back({"127.0.0.1:" + std::to_string(p), 1});
  dyn.tcp.services[name + "-svc"] = svc;
}

// A loopback TCP backend on the worker: per connection it optionally sends a greeting and
// `send_bytes` of pattern data (then shuts down its sending side), and records everything
// it receives until EOF.
class Backend {
 public:
  struct Options {
    std::string greeting;
    size_t send_bytes = 0;
    bool keep = true;  // false: count received bytes only (throughput runs)
  };
  Backend(asio::io_context& ioc, Options o) : acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}), o_(o) {
    asio::co_spawn(ioc, accept_loop(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Waits until `n` connections have finished (EOF seen); returns their received bytes.
  std::vector<std::string> wait_done(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock l(m_);
    cv_.wait_for(l, timeout, [&] { return done_.size() >= n; });
    return done_;
  }
  size_t accepted() {
    std::lock_guard l(m_);
    return accepted_;
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      {
        std::lock_guard l(m_);
        ++accepted_;
      }
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(s)), asio::detached);
    }
  }
  awaitable<void> serve(tcp::socket s) {
    using namespace boost::asio::experimental::awaitable_operators;
    std::string got;
    co_await (receive(s, got) && send(s));
    std::lock_guard l(m_);
    done_.push_back(std::move(got));
    cv_.notify_all();
  }
  awaitable<void> receive(tcp::socket& s, std::string& got) {
    char buf[65536];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      if (o_.keep) {
        got.append(buf, n);
      } else {
        received_ += n;
      }
      if (ec) co_return;
    }
  }
  awaitable<void> send(tcp::socket& s) {
    if (!o_.greeting.empty()) co_await asio::async_write(s, asio::buffer(o_.greeting), use_tuple);
    if (o_.send_bytes) {
      std::string data = pattern(o_.send_bytes, 7);
      co_await asio::async_write(s, asio::buffer(data), use_tuple);
      error_code ignored;
      s.shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

 public:
  static std::string pattern(size_t n, uint32_t seed) {
    std::string out(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (auto& c : out) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    return out;
  }

 private:
  tcp::acceptor acceptor_;
  Options o_;
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::string> done_;
  size_t accepted_ = 0;
  size_t received_ = 0;
};

// ---- blocking client side (test thread) ----
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

inline void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    REQUIRE(n > 0);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

struct ReadResult {
  std::string data;
  bool eof = false;    // orderly FIN
  bool reset = false;  // ECONNRESET
  bool timeout = false;
};

// Reads until EOF, error, `limit` bytes, or the deadline.
inline ReadResult read_until(int fd, std::chrono::milliseconds timeout, size_t limit = SIZE_MAX) {
  ReadResult r;
  auto deadline = Clock::now() + timeout;
  char buf[65536];
  while (r.data.size() < limit) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      r.timeout = true;
      break;
    }
    ssize_t n = ::recv(fd, buf, std::min(sizeof buf, limit - r.data.size()), 0);
    if (n == 0) {
      r.eof = true;
      break;
    }
    if (n < 0) {
      r.reset = errno == ECONNRESET;
      break;
    }
    r.data.append(buf, static_cast<size_t>(n));
  }
  return r;
}

// The first flight of a real OpenSSL client (a TLS ClientHello record).
inline std::string client_hello(const std::string& sni, const std::vector<std::string>& alpn = {}) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (!alpn.empty()) {
    std::string wire;
    for (auto& p : alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
  }
  SSL_connect(ssl);
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  std::string out(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

}  // namespace portier::proxy::test
