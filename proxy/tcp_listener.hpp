#pragma once
// The accept loop of one TCP entrypoint on one worker: every connection becomes a TcpSession
// routed with the TcpRuntime current at accept time. At `max_connections` the loop stops
// accepting (clients wait in the kernel backlog) until a session ends.
// Worker thread only, except where noted. Destroy it only once its io_context no longer runs
// (sessions refer to it until they end).
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "core/snapshot.hpp"
#include "proxy/asio.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/tcp_runtime.hpp"
#include "proxy/tcp_session.hpp"

namespace portier::proxy {

struct TcpListenerOptions {
  std::string entry_point;  // name; its index is looked up in each snapshot
  TcpSessionOptions session;
  size_t max_connections = 65536;
  std::shared_ptr<const ProxyProtocolPolicy> proxy_protocol;  // null: no PROXY header read
  std::function<void(const TcpSessionStats&)> on_closed;  // stats hook, worker thread
};

class TcpListener {
 public:
  // `acceptor` is open and listening (one per worker, SO_REUSEPORT); `snapshot` outlives this.
  TcpListener(tcp::acceptor acceptor, core::Snapshot<TcpRuntime>& snapshot, TcpListenerOptions options,
              uint32_t balancer_seed = 0);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Spawns the accept loop on the acceptor's executor.
  void start();
  // Stops accepting; running sessions continue.
  void stop_accepting();
  // Aborts every running session.
  void close_all();
  // Running sessions; any thread.
  size_t active() const { return active_.load(std::memory_order_relaxed); }
  tcp::endpoint local_endpoint() const;
  // The listening descriptor (handed to the next process by a live upgrade) and its entrypoint.
  int native_handle() { return acceptor_.native_handle(); }
  const std::string& entry_point() const { return options_.entry_point; }

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket, std::shared_ptr<const TcpRuntime> rt);

  tcp::acceptor acceptor_;
  core::Snapshot<TcpRuntime>::Reader reader_;
  TcpListenerOptions options_;
  TcpBalancer balancer_;
  std::unordered_set<TcpSession*> sessions_;
  asio::steady_timer slot_freed_;  // wakes the accept loop when at max_connections
  std::atomic<size_t> active_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace portier::proxy
