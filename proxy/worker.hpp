#pragma once
// A data-plane thread: one io_context, its own acceptors (SO_REUSEPORT), its sessions and
// its upstream pool. Nothing here is shared with other workers except the snapshots.
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <unordered_set>
#include <vector>

#include "config/static_config.hpp"
#include "core/snapshot.hpp"
#include "proxy/asio.hpp"
#include "proxy/connection_cap.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/watchdog.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/tls_context.hpp"
#include "proxy/tcp_listener.hpp"
#include "proxy/udp_forwarder.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/worker_observer.hpp"
#include "tls/acme_challenges.hpp"

namespace portier::proxy {

class Http3Listener;

// A client connection the worker can close when draining.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Closes the connection if it is between requests; otherwise it finishes its exchange.
  virtual void cancel_if_idle() = 0;
};

// What a listener serves; shared read-only by the sessions it accepts.
struct ListenerInfo {
  size_t entry_index = 0;  // position in http_entry_point_names()
  config::EntryPoint entry_point;
  std::optional<config::EntryPoint> redirect_target;  // for http.redirections
  bool tls = false;
  // For cleartext listeners: the same entrypoint as seen by connections that start a TLS
  // handshake (Traefik serves both on one port: TLS routers on the TLS side).
  std::shared_ptr<const ListenerInfo> tls_side;
  // Traefik's internal routers on this entrypoint (cleartext side): PathPrefix(`/ping`) and
  // PathPrefix(`/metrics`) ahead of every other router; api's below.
  bool serves_ping = false;
  bool serves_metrics = false;
  // api.insecure on the `traefik` entrypoint: /api and /dashboard (api@internal), "/" redirected
  // to /dashboard/.
  bool serves_api = false;
  // An httpChallenge entrypoint (cleartext side): the HTTP-01 answers for
  // /.well-known/acme-challenge/, ahead of every router unless allowACMEByPass. Null otherwise.
  const tls::AcmeChallenges* acme_http = nullptr;
  std::shared_ptr<ConnectionCap> cap;  // maxConnections; null when uncapped
  std::shared_ptr<const ProxyProtocolPolicy> proxy_protocol;  // null: no PROXY header read
  // Request head limits here: the workers' with the entrypoint's http.maxHeaderBytes applied
  // (open_listeners). h2_header_list: HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE, also its 431.
  HttpLimits http;
  size_t h2_header_list = HttpLimits{}.max_header_bytes;
  // entryPoints.NAME.http3, TLS side: the Alt-Svc field its HTTP/1.1 and HTTP/2 responses
  // carry (h3=":PORT"), as Traefik's; "" otherwise.
  std::string alt_svc;
};

struct ProxyLimits {
  HttpLimits http;
  // TCP routers: the ClientHello peek and TLS termination (HTTP uses the entrypoint's
  // headerTimeout).
  std::chrono::milliseconds header_timeout{30000};
  std::chrono::milliseconds upstream_timeout{60000};  // request sent to response head
  std::chrono::milliseconds dial_timeout{30000};
  std::chrono::milliseconds body_timeout{60000};      // between body reads/writes
};

class Worker {
 public:
  Worker(int id, core::Snapshot<RuntimeConfig>& snapshot, core::Snapshot<TlsContext>& tls,
         core::Snapshot<TcpRuntime>& tcp, ProxyLimits limits, WorkerObserver& observer);
  ~Worker();

  asio::io_context& io() { return ioc_; }
  int id() const { return id_; }
  // Before start(): an open, listening acceptor (bound with SO_REUSEPORT) on this worker.
  void add_listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerInfo> info);
  // Before start(): TCP-router listeners and UDP forwarders served by this worker.
  void add_tcp_listener(std::unique_ptr<TcpListener> listener) { tcp_listeners_.push_back(std::move(listener)); }
  void add_udp_forwarder(std::unique_ptr<UdpForwarder> forwarder) { udp_forwarders_.push_back(std::move(forwarder)); }
  // Before start(): an entrypoint's HTTP/3 socket, served by this worker alone.
  void add_http3_listener(std::unique_ptr<Http3Listener> listener);
  void start();
  // The descriptors of every listening socket of this worker with their entrypoint names, for
  // a live upgrade (the HTTP/3 ones aside: ProxyServer lists those in steering order). Any
  // thread between start() and begin_drain() (they are set before start).
  void listening_sockets(std::vector<std::pair<int, std::string>>& out);
  // Thread-safe: stop accepting, close idle keep-alive connections, let active ones finish;
  // UDP sessions keep relaying replies until idle (UdpForwarder::drain).
  void begin_drain();
  // Thread-safe: close the UDP sessions, stop the event loop and join the thread.
  void stop();
  // Connections still open (a drain ends when it reaches 0). Any thread.
  int active_connections() const;
  // UDP sessions still open (a drain after a live upgrade also waits for them). Any thread.
  size_t udp_sessions() const;

  // ---- for sessions, worker thread only ----
  const std::shared_ptr<const RuntimeConfig>& config() { return reader_.get(); }
  const std::shared_ptr<const TlsContext>& tls_context() { return tls_reader_.get(); }
  UpstreamPool& pool() { return pool_; }
  WorkerObserver& observer() { return observer_; }
  const ProxyLimits& limits() const { return limits_; }
  bool draining() const { return draining_; }
  uint32_t next_rr(uint32_t service_index, uint64_t generation);
  void register_session(Drainable* s) { sessions_.insert(s); }
  // Runs a connection's coroutine on this worker, counted in active_connections() until it
  // ends; an exception is logged.
  void spawn(awaitable<void> connection);
  void unregister_session(Drainable* s) { sessions_.erase(s); }

 private:
  awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<const ListenerInfo> info);
  // `slot`: the connection's maxConnections slot (empty when uncapped), held while it lives.
  awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<const ListenerInfo> info,
                                   ConnectionSlot slot);
  // `client`: the peer, or the client a PROXY header named (proxy/proxy_protocol.hpp).
  awaitable<void> serve_tls(tcp::socket socket, std::shared_ptr<const ListenerInfo> info,
                            Watchdog::Clock::time_point head_by, const tcp::endpoint& client);
  // TCP routers sharing an HTTP entrypoint: true when the connection was served by one.
  awaitable<bool> try_tcp_routers(tcp::socket& socket, const ListenerInfo& info, const tcp::endpoint& client);

  int id_;
  // Declared before ioc_: sessions parked in pending handlers unregister while ioc_ is destroyed.
  std::unordered_set<Drainable*> sessions_;
  // Sockets and timers of a worker are only touched by its thread (listeners are opened
  // before it starts; other threads only post to it), so the reactor's per-socket locking is
  // off (UNSAFE_IO); posting from other threads stays safe (the scheduler still locks).
  asio::io_context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  core::Snapshot<RuntimeConfig>::Reader reader_;
  core::Snapshot<TlsContext>::Reader tls_reader_;
  core::Snapshot<TcpRuntime>::Reader tcp_reader_;
  TcpBalancer tcp_balancer_;
  TcpSessionOptions tcp_options_;
  ProxyLimits limits_;
  WorkerObserver& observer_;
  UpstreamPool pool_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<std::shared_ptr<const ListenerInfo>> infos_;
  std::vector<std::unique_ptr<TcpListener>> tcp_listeners_;
  std::vector<std::unique_ptr<UdpForwarder>> udp_forwarders_;
  std::vector<std::unique_ptr<Http3Listener>> http3_listeners_;
  std::vector<uint32_t> rr_;
  uint64_t rr_generation_ = ~uint64_t{0};
  std::atomic<int> active_{0};
  bool draining_ = false;
  std::thread thread_;
  std::promise<void> ran_out_;  // set when run() returns on thread_
  static constexpr std::chrono::seconds kUnwind{2};
  static constexpr std::chrono::milliseconds kAcceptBackoff{100};
  static constexpr std::chrono::milliseconds kCapRecheck{20};
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
};

}  // namespace portier::proxy
