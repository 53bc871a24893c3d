#include "proxy/worker.hpp"

#include "core/log.hpp"
#include <algorithm>
#include <cerrno>
#include <pthread.h>
#include <sys/socket.h>

#include "proxy/client_hello_peek.hpp"
#include "proxy/http1_session.hpp"
#include "proxy/http2_session.hpp"
#include "proxy/http3_listener.hpp"
#include "proxy/tcp_session.hpp"
#include "proxy/tls_terminator.hpp"
#include "proxy/watchdog.hpp"

namespace portier::proxy {

Worker::Worker(int id, core::Snapshot<RuntimeConfig>& snapshot, core::Snapshot<TlsContext>& tls,
               core::Snapshot<TcpRuntime>& tcp, ProxyLimits limits, WorkerObserver& observer)
    : id_(id), reader_(snapshot), tls_reader_(tls), tcp_reader_(tcp), limits_(limits), observer_(observer) {
  observer_.attach(ioc_);
  tcp_balancer_.seed(static_cast<uint32_t>(id));
  tcp_options_.peek.timeout = limits.header_timeout;
  tcp_options_.terminate_tls = make_tls_terminator(tls, limits.header_timeout);
}

Worker::~Worker() {
  stop();
  observer_.detach();  // its flush timer runs on ioc_
}

void Worker::add_listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerInfo> info) {
  acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(acceptor)));
  infos_.push_back(std::move(info));
}

void Worker::add_http3_listener(std::unique_ptr<Http3Listener> listener) {
  http3_listeners_.push_back(std::move(listener));
}

void Worker::listening_sockets(std::vector<std::pair<int, std::string>>& out) {
  for (size_t i = 0; i < acceptors_.size(); ++i)
    out.emplace_back(acceptors_[i]->native_handle(), infos_[i]->entry_point.name);
  for (auto& l : tcp_listeners_) out.emplace_back(l->native_handle(), l->entry_point());
  for (auto& u : udp_forwarders_) out.emplace_back(u->native_handle(), u->entry_point());
}

void Worker::start() {
  guard_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(ioc_.get_executor());
  for (size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(ioc_, accept_loop(*acceptors_[i], infos_[i]), asio::detached);
  for (auto& l : tcp_listeners_) l->start();
  for (auto& u : udp_forwarders_) u->start();
  for (auto& h : http3_listeners_) h->start();
  thread_ = std::thread([this] {
    // Named for top -H, perf and bench/run.sh --observe ("portier-w0", ...; at most 15 bytes).
    pthread_setname_np(pthread_self(), ("portier-w" + std::to_string(id_ % 100000)).c_str());
    ioc_.run();
    ran_out_.set_value();
  });
}

// EMFILE, ENFILE, ENOBUFS: the connection stays queued in the kernel and an immediate retry
// fails the same way, so the loop waits kAcceptBackoff between tries (logged once per episode)
// while the connections already accepted keep being served.
awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, std::shared_ptr<const ListenerInfo> info) {
  asio::steady_timer backoff(ioc_);
  bool failing = false;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (!failing)
        core::log_warn("accept on ", info->entry_point.name, ": ", ec.message(), "; retrying every ",
                       kAcceptBackoff.count(), " ms");
      failing = true;
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (failing) core::log_info("accept on ", info->entry_point.name, ": accepting again");
    failing = false;
    ConnectionSlot slot;
    if (info->cap) {
      // At the cap the connection just accepted waits, unread, and this acceptor accepts no
      // more (the kernel's backlog queues them) until a slot frees on any worker: checked
      // every kCapRecheck. Served connections never exceed the cap.
      while (!info->cap->try_acquire()) {
        backoff.expires_after(kCapRecheck);
        co_await backoff.async_wait(use_tuple);
        if (!acceptor.is_open() || draining_) co_return;
      }
      slot = ConnectionSlot(info->cap.get());
    }
    spawn(serve_connection(std::move(socket), info, std::move(slot)));
  }
}

void Worker::spawn(awaitable<void> connection) {
  ++active_;
  asio::co_spawn(ioc_, std::move(connection), [this](std::exception_ptr e) {
    --active_;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      core::log_error("connection failed: ", ex.what());
    }
  });
}

// Traefik serves TLS and cleartext on one entrypoint: a first byte of 0x16 (a TLS handshake
// record) selects the TLS side, anything else the cleartext side. Nothing is consumed.
// The first request head (HTTP/2: HEADERS) must be complete within the entrypoint's
// headerTimeout from here, TLS handshake included.
awaitable<void> Worker::serve_connection(tcp::socket socket,
                                         std::shared_ptr<const ListenerInfo> info,
                                         ConnectionSlot slot) {
  // traefik_open_connections{entrypoint, protocol="TCP"}: every accepted connection.
  struct Open {
    MetricsShard& shard;
    size_t entry;
    ~Open() { shard.connections(entry, -1); }
  } open{observer_.metrics(), info->entry_index};
  open.shard.connections(open.entry, +1);
  // The PROXY header, the TCP routers' peek and the first request head share headerTimeout.
  const auto head_by = Watchdog::Clock::now() + info->entry_point.header_timeout;
  std::optional<tcp::endpoint> client;
  if (info->proxy_protocol)
    client = co_await accept_proxy_header(socket, *info->proxy_protocol, head_by);
  else
    client = peer_of(socket);
  if (!client) co_return;
  if (co_await try_tcp_routers(socket, *info, *client)) co_return;
  if (info->tls_side) {
    Watchdog watchdog(socket.get_executor());
    watchdog.watch(&socket);
    watchdog.arm(head_by - Watchdog::Clock::now());
    unsigned char first = 0;
    ssize_t n = -1;
    for (;;) {
      auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) co_return;
      n = ::recv(socket.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
      // The wait can complete before any byte is queued (asio may run a wait speculatively on
      // a fresh socket): EAGAIN means "not yet", not a closed connection. The watchdog bounds
      // the loop.
      if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    }
    watchdog.disarm();
    if (n <= 0) co_return;
    if (first == 0x16) {
      co_await serve_tls(std::move(socket), info->tls_side, head_by, *client);
      co_return;
    }
  }
  // HTTP/1.1, or h2c prior knowledge
  co_await serve_cleartext(*this, std::move(socket), info, head_by, std::move(slot), *client);
}

// Traefik's order on a shared entrypoint: a TLS connection whose SNI an HTTPS router serves
// goes to HTTP; otherwise a matching TCP router takes it; the rest goes to HTTP. The peek
// consumes nothing, so the HTTP side still sees the whole stream.
awaitable<bool> Worker::try_tcp_routers(tcp::socket& socket, const ListenerInfo& info,
                                        const tcp::endpoint& client) {
  std::shared_ptr<const TcpRuntime> rt = tcp_reader_.get();
  int entry = rt ? rt->entry_index(info.entry_point.name) : -1;
  if (entry < 0 || rt->entries[entry].empty()) co_return false;
  std::shared_ptr<const RuntimeConfig> rc = reader_.get();
  bool http_routes = rc && info.entry_index < rc->plain.size() &&
                     !(rc->plain[info.entry_index].empty() && rc->secure[info.entry_index].empty());
  if (!rt->entries[entry].needs_peek && !http_routes) {
    // Only catch-all cleartext TCP routes: connect at once (server-speaks-first protocols).
    TcpSession session(std::move(socket), client, static_cast<size_t>(entry), rt, tcp_options_,
                       tcp_balancer_);
    co_await session.run();
    co_return true;
  }
  PeekResult peeked = co_await peek_client_hello(socket, tcp_options_.peek);
  if (peeked.kind == PeekResult::Kind::closed) co_return true;
  auto serves_sni = [&](std::string_view sni) {
    return rc && rc->serves_sni(info.entry_index, sni);
  };
  // As Traefik's TCP router: a ClientHello offering acme-tls/1 is a TLS-ALPN-01 validation,
  // answered by the HTTP side's handshake, unless allowACMEByPass lets TCP routers take it.
  if (!info.entry_point.allow_acme_bypass && peeked.offers_alpn(tls::kAcmeTlsAlpn)) co_return false;
  auto view = peeked.view(client.address());
  if (decide_shared(*rt, static_cast<size_t>(entry), view, serves_sni) == SharedDispatch::http) co_return false;
  TcpSession session(std::move(socket), client, static_cast<size_t>(entry), rt, tcp_options_,
                       tcp_balancer_);
  co_await session.run(std::move(peeked));
  co_return true;
}

awaitable<void> Worker::serve_tls(tcp::socket socket, std::shared_ptr<const ListenerInfo> info,
                                  Watchdog::Clock::time_point head_by, const tcp::endpoint& client) {
  std::shared_ptr<const TlsContext> ctx = tls_reader_.get();
  if (!ctx) co_return;
  TlsStream stream(std::move(socket), ctx->asio->native_handle());
  Watchdog watchdog(stream.get_executor());
  watchdog.watch(&stream.next_layer());
  watchdog.arm(head_by - Watchdog::Clock::now());
  auto [ec] = co_await stream.async_handshake(use_tuple);
  if (ec) {
    core::log_debug("TLS handshake failed: ", ec.message());
    co_return;
  }
  watchdog.disarm();
  std::string_view alpn = tls::alpn_of(stream.native_handle());
  if (alpn == tls::kAcmeTlsAlpn) co_return;  // a TLS-ALPN-01 validation: the handshake was all
  if (alpn == "h2") {
    co_await serve_http2(*this, std::move(stream), std::move(info), client, {}, head_by);
    co_return;
  }
  auto session = std::make_unique<Http1Session<TlsStream>>(*this, std::move(stream), std::move(info), client);
  session->set_head_deadline(head_by);
  co_await Http1Session<TlsStream>::run(std::move(session));
}

uint32_t Worker::next_rr(uint32_t service_index, uint64_t generation) {
  if (generation != rr_generation_) {
    rr_.clear();
    rr_generation_ = generation;
  }
  if (service_index >= rr_.size()) rr_.resize(service_index + 1, static_cast<uint32_t>(id_));
  return rr_[service_index]++;
}

void Worker::begin_drain() {
  asio::post(ioc_, [this] {
    draining_ = true;
    for (auto& a : acceptors_) {
      error_code ec;
      a->close(ec);
    }
    for (auto* s : sessions_) s->cancel_if_idle();
    for (auto& l : tcp_listeners_) l->stop_accepting();
    for (auto& u : udp_forwarders_) u->drain();
    for (auto& h : http3_listeners_) h->drain();
  });
}

size_t Worker::udp_sessions() const {
  size_t n = 0;
  for (const auto& u : udp_forwarders_) n += u->live_sessions();
  return n;
}

int Worker::active_connections() const {
  int n = active_.load();
  for (const auto& l : tcp_listeners_) n += static_cast<int>(l->active());
  for (const auto& h : http3_listeners_) n += static_cast<int>(h->live_connections());
  return n;
}

// After a complete drain (listeners closed, every connection finished) nothing but the work
// guard keeps run() going: without it run() returns by itself once the last coroutine of the
// worker has ended, and ~io_context has no suspended frame to destroy (the lifetime rule of
// core/task_group.hpp). Connections still open past the grace period are stopped where they
// are, as before.
void Worker::stop() {
  if (!thread_.joinable()) return;
  const bool drained = active_connections() == 0;
  auto ran_out = ran_out_.get_future();
  asio::post(ioc_, [this] {  // UDP sessions still relaying replies end now, and their loops
    for (auto& u : udp_forwarders_) u->stop();
    for (auto& h : http3_listeners_) h->stop();
  });
  guard_.reset();
  if (!drained || ran_out.wait_for(kUnwind) != std::future_status::ready) {
    if (drained) core::log_warn("worker ", id_, ": event loop still busy after the drain; stopping it");
    ioc_.stop();
  }
  thread_.join();
}

}  // namespace portier::proxy
