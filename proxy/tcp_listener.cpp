#include "proxy/tcp_listener.hpp"

#include "core/log.hpp"

namespace portier::proxy {

TcpListener::TcpListener(tcp::acceptor acceptor, core::Snapshot<TcpRuntime>& snapshot, TcpListenerOptions options,
                         uint32_t balancer_seed)
    : acceptor_(std::move(acceptor)),
      reader_(snapshot),
      options_(std::move(options)),
      slot_freed_(acceptor_.get_executor()) {
  balancer_.seed(balancer_seed);
}

TcpListener::~TcpListener() { *alive_ = false; }

void TcpListener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      core::log_error("tcp accept loop failed: ", ex.what());
    }
  });
}

void TcpListener::stop_accepting() {
  error_code ignored;
  acceptor_.close(ignored);
  slot_freed_.cancel();
}

void TcpListener::close_all() {
  for (TcpSession* s : sessions_) s->cancel();
}

tcp::endpoint TcpListener::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

awaitable<void> TcpListener::accept_loop() {
  auto alive = alive_;
  asio::steady_timer backoff(acceptor_.get_executor());
  bool failing = false;
  while (*alive && acceptor_.is_open()) {
    if (sessions_.size() >= options_.max_connections) {
      slot_freed_.expires_at(asio::steady_timer::time_point::max());
      co_await slot_freed_.async_wait(use_tuple);
      continue;
    }
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (!*alive) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (!failing) core::log_warn("accept on ", options_.entry_point, ": ", ec.message(), "; retrying every 50 ms");
      failing = true;
      backoff.expires_after(std::chrono::milliseconds(50));  // EMFILE: do not spin
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (failing) core::log_info("accept on ", options_.entry_point, ": accepting again");
    failing = false;
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket), reader_.get()), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        core::log_error("tcp session failed: ", ex.what());
      }
    });
  }
}

// The listener outlives its sessions while the worker runs; if the io_context is destroyed
// with sessions suspended, their frames are destroyed without touching the listener.
awaitable<void> TcpListener::serve(tcp::socket socket, std::shared_ptr<const TcpRuntime> rt) {
  // Counted from accept, PROXY header read included, so a drain waits for it too.
  active_.fetch_add(1, std::memory_order_relaxed);
  int index = rt ? rt->entry_index(options_.entry_point) : -1;
  // The PROXY header is read within the ClientHello peek's timeout, before the session peeks.
  std::optional<tcp::endpoint> client;
  if (options_.proxy_protocol)
    client = co_await accept_proxy_header(socket, *options_.proxy_protocol,
                                          Watchdog::Clock::now() + options_.session.peek.timeout);
  else
    client = peer_of(socket);
  std::optional<TcpSessionStats> stats;
  if (client) {
    TcpSession session(std::move(socket), *client, index < 0 ? SIZE_MAX : static_cast<size_t>(index),
                       std::move(rt), options_.session, balancer_);
    sessions_.insert(&session);
    stats = co_await session.run();
    sessions_.erase(&session);
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
  slot_freed_.cancel();
  if (stats && options_.on_closed) options_.on_closed(*stats);
}

}  // namespace portier::proxy
