#pragma once
// The data plane as a whole: N workers, their listeners for every HTTP entrypoint, and the
// snapshot they route with. Created and driven by the control thread.
#include <memory>
#include <string>
#include <vector>

#include "config/static_config.hpp"
#include "core/listen_fds.hpp"
#include "core/snapshot.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/tcp_runtime.hpp"
#include "proxy/tls_context.hpp"
#include "proxy/observability.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

struct QuicSecrets;

class ProxyServer {
 public:
  // `inherited` (may be null) outlives this: the sockets systemd passed, served in place of
  // binding (core/listen_fds.hpp).
  ProxyServer(const config::StaticConfig& cfg, int workers, ProxyLimits limits,
              core::InheritedSockets* inherited = nullptr);
  ~ProxyServer();

  // Binds every HTTP entrypoint once per worker (SO_REUSEPORT), or gives every worker a dup()
  // of the inherited socket bound at its address. Returns one message per
  // address that could not be bound; nothing is served until start().
  std::vector<std::string> open_listeners();
  // Before open_listeners(): the HTTP-01 answers served on every httpChallenge entrypoint of
  // the certificate resolvers. `challenges` outlives this server.
  void set_acme_challenges(const tls::AcmeChallenges* challenges) { acme_challenges_ = challenges; }
  // Before open_listeners(): the certificates HTTP/3 serves (entryPoints.NAME.http3); `store`
  // outlives this server.
  void set_cert_store(const tls::CertStore* store) { cert_store_ = store; }
  // The HTTP/3 addresses, for /health: entrypoint name, bound address, the QUIC connections
  // open on it now and its sockets (one per worker). Any thread, after open_listeners().
  struct Http3Status {
    std::string entry_point, address;
    size_t connections = 0;
    size_t sockets = 0;
  };
  std::vector<Http3Status> http3_listeners() const;
  void start();
  // Control thread: makes `rc` the configuration of every new request.
  void publish(std::shared_ptr<RuntimeConfig> rc);
  std::shared_ptr<const RuntimeConfig> current() const { return snapshot_.load(); }
  // Control thread: the TCP/UDP routing tables of every new connection / UDP session.
  void publish_tcp(std::shared_ptr<TcpRuntime> rt);
  // Control thread: the TLS context of every new TLS handshake.
  void publish_tls(std::shared_ptr<TlsContext> ctx) { tls_snapshot_.publish(std::move(ctx)); }
  // Every listening socket of every worker (descriptor, entrypoint name), for a live upgrade.
  std::vector<std::pair<int, std::string>> listening_sockets();
  void begin_drain();
  Observability& observability() { return *observability_; }
  int active_connections() const;
  size_t udp_sessions() const;
  void stop();

 private:
  const config::StaticConfig& cfg_;
  ProxyLimits limits_;
  core::InheritedSockets* inherited_;
  const tls::AcmeChallenges* acme_challenges_ = nullptr;
  const tls::CertStore* cert_store_ = nullptr;
  // One HTTP/3 address: its listeners in steering order, each owned by its worker, which
  // outlives this list's readers.
  struct Http3Socket {
    std::string entry_point, address;
    std::vector<Http3Listener*> listeners;
  };
  std::vector<Http3Socket> http3_sockets_;
  size_t http3_next_ = 0;
  std::shared_ptr<const QuicSecrets> quic_secrets_;
  void open_http3_listener(const config::EntryPoint& ep, std::shared_ptr<const ListenerInfo> tls_info,
                           std::vector<std::string>& problems);
  std::vector<std::pair<Worker*, udp::socket>> http3_sockets_on(const config::EntryPoint& ep,
                                                               const asio::ip::address& addr,
                                                               std::vector<std::string>& problems);
  void open_tcp_listeners(std::vector<std::string>& problems);
  std::vector<tcp::acceptor> acceptors_for(size_t worker, const config::EntryPoint& ep,
                                           const asio::ip::address& addr, std::vector<std::string>& problems);
  udp::socket udp_socket_on(asio::io_context& io, const config::EntryPoint& ep, const asio::ip::address& addr,
                            std::vector<std::string>& problems);
  void open_udp_forwarders(std::vector<std::string>& problems);

  core::Snapshot<RuntimeConfig> snapshot_;
  core::Snapshot<TcpRuntime> tcp_snapshot_;
  core::Snapshot<TlsContext> tls_snapshot_;
  uint64_t tcp_generation_ = 0;
  std::unique_ptr<Observability> observability_;  // before the workers, which refer to it
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t generation_ = 0;
};

}  // namespace portier::proxy
