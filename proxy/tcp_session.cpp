#include "proxy/tcp_session.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/log.hpp"
#include "proxy/client_tls.hpp"
#include "proxy/proxy_header.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/watchdog.hpp"
#include "tls/acme_challenges.hpp"

namespace portier::proxy {

using namespace boost::asio::experimental::awaitable_operators;

// State both relay directions share: the idle watchdog and the abort switch.
// After the first EOF, when `termination` is not negative, the other direction must end within
// it (Traefik's terminationDelay: a read deadline on the side that was half-closed), capped by
// the idle timeout; transfers no longer move that deadline.
struct TcpSession::Shared {
  explicit Shared(asio::any_io_executor ex) : dog(ex) {}
  Watchdog dog;
  std::chrono::milliseconds idle{0};
  std::chrono::milliseconds termination{-1};
  bool closing = false;  // the termination deadline is armed
  tcp::socket* a = nullptr;
  tcp::socket* b = nullptr;
  bool aborted = false;

  void touch() {
    if (!closing) dog.arm(idle);
  }
  void half_closed() {
    if (termination.count() < 0 || closing) return;
    closing = true;
    dog.arm(std::min(termination, idle));
  }
  void abort() {
    aborted = true;
    error_code ignored;
    if (a) a->cancel(ignored);
    if (b) b->cancel(ignored);
  }
};

namespace {

struct SocketSide {
  tcp::socket& s;
  auto read_some(asio::mutable_buffer b) { return s.async_read_some(b, use_tuple); }
  auto write_some(asio::const_buffer b) { return s.async_write_some(b, use_tuple); }
  awaitable<void> shutdown_send() {
    error_code ignored;
    s.shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
};

// A plain socket relayed next to a TLS stream on the other side.
class SocketStream final : public TcpClientStream {
 public:
  explicit SocketStream(tcp::socket& s) : s_(s) {}
  awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer buf) override {
    co_return co_await s_.async_read_some(buf, use_tuple);
  }
  awaitable<std::tuple<error_code, size_t>> write_some(asio::const_buffer buf) override {
    co_return co_await s_.async_write_some(buf, use_tuple);
  }
  awaitable<void> shutdown_send() override {
    error_code ignored;
    s_.shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  tcp::socket& socket() override { return s_; }

 private:
  tcp::socket& s_;
};

// SO_KEEPALIVE as Go's net.Dialer sets it: `interval` as both the idle time and the probe
// interval; negative = off.
void set_keep_alive(tcp::socket& s, std::chrono::milliseconds interval) {
  error_code ignored;
  if (interval.count() < 0) return;
  s.set_option(asio::socket_base::keep_alive(true), ignored);
  int seconds = static_cast<int>(std::max<int64_t>(1, (interval.count() + 999) / 1000));
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
  ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &seconds, sizeof seconds);
}

struct StreamSide {
  TcpClientStream& s;
  auto read_some(asio::mutable_buffer b) { return s.read_some(b); }
  auto write_some(asio::const_buffer b) { return s.write_some(b); }
  awaitable<void> shutdown_send() { return s.shutdown_send(); }
};

// Relays in -> out through a user-space buffer until EOF (then half-closes `out`) or error
// (then aborts the whole session). `count` is exact: bytes the kernel accepted for `out`.
template <class In, class Out, class Shared>
awaitable<void> copy_pump(In in, Out out, size_t cap, uint64_t& count, Shared& sh) {
  std::unique_ptr<char[]> buf(new char[cap]);
  for (;;) {
    auto [ec, n] = co_await in.read_some(asio::buffer(buf.get(), cap));
    if (sh.aborted) co_return;
    if (n > 0) sh.touch();
    for (size_t off = 0; off < n;) {
      auto [wec, w] = co_await out.write_some(asio::buffer(buf.get() + off, n - off));
      off += w;
      count += w;
      if (wec || sh.aborted) {
        sh.abort();
        co_return;
      }
      sh.touch();
    }
    if (ec == asio::error::eof) {
      co_await out.shutdown_send();
      sh.half_closed();
      co_return;
    }
    if (ec) {
      sh.abort();
      co_return;
    }
  }
}

struct Pipe {
  int fd[2] = {-1, -1};
  size_t capacity = 65536;
  bool grown = false;
  Pipe() {
    if (::pipe2(fd, O_NONBLOCK | O_CLOEXEC) != 0) {
      fd[0] = fd[1] = -1;
      return;
    }
    int size = ::fcntl(fd[1], F_GETPIPE_SZ);
    if (size > 0) capacity = static_cast<size_t>(size);
  }
  // Bulk streams: a 1 MiB pipe halves the CPU per byte (0.42 -> 0.22 s/GiB on loopback).
  // Done only once one splice half-filled the pipe, so that quiet connections do not eat the
  // user's pipe budget (fs/pipe-user-pages-soft, past which new pipes get 8 KiB). Best effort.
  void grow() {
    grown = true;
    int size = ::fcntl(fd[1], F_SETPIPE_SZ, 1 << 20);
    if (size > 0) capacity = static_cast<size_t>(size);
  }
  ~Pipe() {
    if (fd[0] >= 0) ::close(fd[0]);
    if (fd[1] >= 0) ::close(fd[1]);
  }
  bool ok() const { return fd[0] >= 0; }
};

// Relays in -> out with splice(2) through a pipe: the payload never enters user space.
// Waits only after the syscall returned EAGAIN.
template <class Shared>
awaitable<void> splice_pump(tcp::socket& in, tcp::socket& out, uint64_t& count, Shared& sh) {
  Pipe pipe;
  if (!pipe.ok()) {
    sh.abort();
    co_return;
  }
  error_code ignored;
  in.non_blocking(true, ignored);
  out.non_blocking(true, ignored);
  constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
  size_t in_pipe = 0;
  for (;;) {
    if (in_pipe == 0) {
      ssize_t n = ::splice(in.native_handle(), nullptr, pipe.fd[1], nullptr, pipe.capacity, kFlags);
      if (n == 0) {
        error_code ec;
        out.shutdown(tcp::socket::shutdown_send, ec);
        sh.half_closed();
        co_return;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) break;
        auto [ec] = co_await in.async_wait(tcp::socket::wait_read, use_tuple);
        if (ec || sh.aborted) break;
        continue;
      }
      in_pipe = static_cast<size_t>(n);
      if (in_pipe >= pipe.capacity / 2 && !pipe.grown) pipe.grow();
      sh.touch();
    }
    ssize_t m = ::splice(pipe.fd[0], nullptr, out.native_handle(), nullptr, in_pipe, kFlags);
    if (m > 0) {
      in_pipe -= static_cast<size_t>(m);
      count += static_cast<uint64_t>(m);
      sh.touch();
      continue;
    }
    if (m < 0 && errno == EINTR) continue;
    if (m == 0 || errno != EAGAIN) break;
    auto [ec] = co_await out.async_wait(tcp::socket::wait_write, use_tuple);
    if (ec || sh.aborted) break;
  }
  sh.abort();
}

}  // namespace

TcpSession::TcpSession(tcp::socket client, const tcp::endpoint& source, size_t entry,
                       std::shared_ptr<const TcpRuntime> rt, const TcpSessionOptions& options,
                       TcpBalancer& balancer)
    : client_(std::move(client)),
      backend_(client_.get_executor()),
      entry_(entry),
      rt_(std::move(rt)),
      options_(options),
      balancer_(balancer),
      source_(source),
      client_ip_(source.address()),
      shared_(std::make_shared<Shared>(client_.get_executor())) {}

TcpSession::~TcpSession() = default;

void TcpSession::cancel() {
  shared_->a = tls_ ? &tls_->socket() : &client_;
  shared_->b = &backend_;
  shared_->abort();
}

void TcpSession::close_client() {
  // Discard what the client already sent (e.g. a peeked ClientHello): closing a socket with
  // unread data sends RST instead of FIN.
  char sink[4096];
  for (int i = 0; i < 64; ++i)
    if (::recv(client_.native_handle(), sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
  error_code ignored;
  client_.shutdown(tcp::socket::shutdown_both, ignored);
  client_.close(ignored);
}

awaitable<bool> TcpSession::dial_any(const TcpServiceRuntime& svc, uint32_t slot) {
  const size_t n = svc.schedule.size();
  std::vector<bool> tried(svc.servers.size());
  for (size_t i = 0; i < n; ++i) {
    uint32_t index = svc.schedule[(slot + i) % n];
    if (tried[index]) continue;
    tried[index] = true;
    const TcpBackend& backend = svc.servers[index];
    stats_.backend = backend.address;
    std::string why = co_await dial(svc, backend);
    if (why.empty()) co_return true;
    error_code ignored;
    backend_.close(ignored);
    backend_tls_.reset();
    if (shared_->aborted) co_return false;  // cancel(): shutting down, no next server
    // A refused TLS handshake is a configuration problem the operator must see.
    if (why.rfind("TLS", 0) == 0)
      core::log_warn("tcp service ", svc.name, ": server ", backend.address, ": ", why);
    else
      core::log_debug("tcp service ", svc.name, ": dial ", backend.address, " failed: ", why);
  }
  co_return false;
}

awaitable<std::string> TcpSession::dial(const TcpServiceRuntime& svc, const TcpBackend& backend) {
  const TcpTransport& transport = *svc.transport;
  Watchdog dog(backend_.get_executor());
  dog.watch(&backend_);
  // 0 = no dial timeout (Traefik): the idle timeout still bounds a dial that hangs.
  dog.arm(transport.dial_timeout.count() > 0 ? transport.dial_timeout : options_.idle_timeout);
  auto [ec] = co_await backend_.async_connect(backend.endpoint, use_tuple);
  if (ec) co_return dog.expired() ? std::string("timeout") : ec.message();
  backend_.set_option(tcp::no_delay(true), ec);
  set_keep_alive(backend_, transport.keep_alive);
  if (svc.proxy_protocol) {
    error_code local_ec;
    tcp::endpoint local = client_.local_endpoint(local_ec);
    std::string header = write_proxy_header(svc.proxy_protocol, source_, local);
    auto [wec, n] = co_await asio::async_write(backend_, asio::buffer(header), use_tuple);
    if (wec) co_return "PROXY header: " + (dog.expired() ? std::string("timeout") : wec.message());
  }
  if (!backend.tls) co_return std::string();
  std::string why = co_await start_backend_tls(transport);
  if (!why.empty() && dog.expired()) why = "TLS handshake: timeout";
  co_return why;
}

awaitable<std::string> TcpSession::start_backend_tls(const TcpTransport& transport) {
  if (!transport.tls) co_return std::string("TLS: no client context for the transport");
  const std::string& name = transport.server_name;
  if (name.empty() && !transport.insecure_skip_verify)
    co_return "TLS: serversTransport " + transport.name + " needs tls.serverName or tls.insecureSkipVerify";
  // The transport outlives the stream: the session pins the runtime that owns it.
  auto stream = std::make_unique<TlsStream<tcp::socket&>>(asio::ssl::stream<tcp::socket&>(backend_, *transport.tls),
                                                          nullptr);
  SSL* ssl = stream->ssl().native_handle();
  error_code ec;
  boost::asio::ip::make_address(name, ec);
  set_server_name(ssl, name, !ec, !transport.insecure_skip_verify);
  auto [hec] = co_await stream->ssl().async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) co_return handshake_failure(ssl, hec);
  backend_tls_ = std::move(stream);
  co_return std::string();
}

awaitable<TcpSessionStats> TcpSession::run(std::optional<PeekResult> peeked) {
  using Outcome = TcpSessionStats::Outcome;
  const TcpEntryTable* table = rt_ && entry_ < rt_->entries.size() ? &rt_->entries[entry_] : nullptr;
  if (!table || table->empty()) {
    close_client();
    co_return stats_;
  }
  PeekResult hello;
  const TcpRouteRuntime* route = nullptr;
  if (peeked) {
    hello = std::move(*peeked);
  } else if (table->needs_peek) {
    hello = co_await peek_client_hello(client_, options_.peek);
  } else {
    hello.kind = PeekResult::Kind::silent;  // nothing read: server-speaks-first works
    route = &rt_->routes[table->plain_routes.front()];
  }
  if (!hello.usable()) {
    stats_.outcome = Outcome::peek_failed;
    close_client();
    co_return stats_;
  }
  if (options_.answer_acme_tls && hello.kind == PeekResult::Kind::tls && hello.offers_alpn(tls::kAcmeTlsAlpn)) {
    co_await answer_acme_tls(hello);
    co_return stats_;
  }
  if (!route) route = rt_->route(entry_, hello.view(client_ip_));
  if (!route) {
    close_client();
    co_return stats_;
  }
  stats_.route = route->name;
  if (route->gate && !route->gate->admit(client_ip_, holds_)) {
    stats_.outcome = Outcome::refused;
    close_client();
    co_return stats_;
  }
  const TcpServiceRuntime& svc = rt_->services[route->service];
  if (svc.schedule.empty() || (route->terminates_tls() && !options_.terminate_tls)) {
    if (route->terminates_tls() && !options_.terminate_tls)
      core::log_warn("tcp router ", route->name, ": TLS termination is not available, connection dropped");
    stats_.outcome = Outcome::no_server;
    close_client();
    co_return stats_;
  }
  uint32_t slot = balancer_.next(route->service, rt_->generation) % static_cast<uint32_t>(svc.schedule.size());
  if (!co_await dial_any(svc, slot)) {
    stats_.outcome = Outcome::dial_failed;
    close_client();
    co_return stats_;
  }
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  if (route->terminates_tls()) {
    tls_ = co_await options_.terminate_tls(std::move(client_), route, hello);
    if (!tls_) {
      stats_.outcome = Outcome::tls_failed;
      backend_.close(ignored);
      co_return stats_;
    }
  }
  stats_.outcome = Outcome::forwarded;
  shared_->termination = svc.termination_delay;
  if (tls_ || backend_tls_) {
    SocketStream plain_client(client_), plain_backend(backend_);
    co_await relay_streams(tls_ ? *tls_ : plain_client, backend_tls_ ? *backend_tls_ : plain_backend);
    if (tls_) tls_->socket().close(ignored);
  } else {
    co_await relay_plain();
  }
  client_.close(ignored);
  backend_.close(ignored);
  co_return stats_;
}

// The handshake is the whole answer: the validator checks the challenge certificate and closes.
awaitable<void> TcpSession::answer_acme_tls(const PeekResult& hello) {
  stats_.outcome = TcpSessionStats::Outcome::acme_tls;
  if (!options_.terminate_tls) {
    close_client();
    co_return;
  }
  auto stream = co_await options_.terminate_tls(std::move(client_), nullptr, hello);
  if (!stream) stats_.outcome = TcpSessionStats::Outcome::tls_failed;
}

awaitable<void> TcpSession::relay_plain() {
  Shared& sh = *shared_;
  sh.idle = options_.idle_timeout;
  sh.a = &client_;
  sh.b = &backend_;
  sh.dog.watch(&client_, &backend_);
  sh.touch();
  if (options_.use_splice) {
    co_await (splice_pump(client_, backend_, stats_.from_client, sh) &&
              splice_pump(backend_, client_, stats_.to_client, sh));
  } else {
    co_await (copy_pump(SocketSide{client_}, SocketSide{backend_}, options_.buffer_size, stats_.from_client, sh) &&
              copy_pump(SocketSide{backend_}, SocketSide{client_}, options_.buffer_size, stats_.to_client, sh));
  }
  sh.dog.disarm();
}

awaitable<void> TcpSession::relay_streams(TcpClientStream& client, TcpClientStream& backend) {
  Shared& sh = *shared_;
  sh.idle = options_.idle_timeout;
  sh.a = &client.socket();
  sh.b = &backend.socket();
  sh.dog.watch(sh.a, sh.b);
  sh.touch();
  co_await (copy_pump(StreamSide{client}, StreamSide{backend}, options_.buffer_size, stats_.from_client, sh) &&
            copy_pump(StreamSide{backend}, StreamSide{client}, options_.buffer_size, stats_.to_client, sh));
  sh.dog.disarm();
}

}  // namespace portier::proxy
