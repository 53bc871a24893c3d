#pragma once
// One accepted TCP-entrypoint connection: optional ClientHello peek, routing through the
// pinned TcpRuntime, dial to a backend, then relaying both directions concurrently until both
// have reached EOF (half-close propagated with shutdown(send)), an error, or the idle timeout.
// Lives on one worker thread; its coroutine owns both sockets.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "proxy/asio.hpp"
#include "proxy/client_hello_peek.hpp"
#include "proxy/tcp_runtime.hpp"

namespace portier::proxy {

// The client side of a TLS connection that portier terminates (non-passthrough TLS routes).
// Implemented by the TLS layer; the relay moves plaintext through it.
class TcpClientStream {
 public:
  virtual ~TcpClientStream() = default;
  virtual awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer buf) = 0;
  virtual awaitable<std::tuple<error_code, size_t>> write_some(asio::const_buffer buf) = 0;
  // Ends our sending direction (TLS close_notify, then TCP shutdown(send)).
  virtual awaitable<void> shutdown_send() = 0;
  // The TCP socket underneath; the idle watchdog cancels it.
  virtual tcp::socket& socket() = 0;
};

// HOOK for the TLS store: performs the server handshake on `client` (whose ClientHello is
// still unread, see peek_client_hello) with the certificate and tls options for hello.sni,
// for `route`, or for a TLS-ALPN-01 validation when it is null (the ClientHello callback
// answers acme-tls/1). nullptr = handshake failed (the connection is dropped). Unset = routes
// that terminate TLS refuse their connections.
using TlsTerminator = std::function<awaitable<std::unique_ptr<TcpClientStream>>(
    tcp::socket client, const TcpRouteRuntime* route, const PeekResult& hello)>;

struct TcpSessionOptions {
  PeekLimits peek;
  std::chrono::milliseconds idle_timeout{180000};  // no byte in either direction
  bool use_splice = true;      // plain TCP: splice(2) through a pipe, no user-space copy
  size_t buffer_size = 65536;  // per direction, read/write relay
  TlsTerminator terminate_tls;
  // A TLS ClientHello offering acme-tls/1 is a TLS-ALPN-01 validation, answered by the
  // terminate_tls handshake before any routing, as Traefik's TCP router does on every
  // entrypoint (tcp-* ones here) unless allowACMEByPass. Shared HTTP entrypoints decide
  // before the session (Worker::try_tcp_routers) and leave this false.
  bool answer_acme_tls = false;
};

struct TcpSessionStats {
  enum class Outcome { forwarded, no_route, peek_failed, refused, no_server, dial_failed, tls_failed, acme_tls };
  Outcome outcome = Outcome::no_route;
  std::string route;
  std::string backend;       // "127.0.11.2:5432"
  uint64_t from_client = 0;  // bytes written to the backend (ClientHello included)
  uint64_t to_client = 0;    // bytes written to the client
};

// Round-robin positions per service, reset when the snapshot generation changes.
// Worker thread only (one per listener or per worker).
class TcpBalancer {
 public:
  uint32_t next(uint32_t service, uint64_t generation) {
    if (generation != generation_) {
      counters_.clear();
      generation_ = generation;
    }
    if (service >= counters_.size()) counters_.resize(service + 1, seed_);
    return counters_[service]++;
  }
  void seed(uint32_t s) { seed_ = s; }  // e.g. the worker id, so workers do not start in step

 private:
  std::vector<uint32_t> counters_;
  uint64_t generation_ = ~uint64_t{0};
  uint32_t seed_ = 0;
};

class TcpSession {
 public:
  // `entry` indexes rt->entries. `options` and `balancer` must outlive the session.
  // `source`: the peer's address, or the client's a PROXY header named.
  TcpSession(tcp::socket client, const tcp::endpoint& source, size_t entry,
             std::shared_ptr<const TcpRuntime> rt, const TcpSessionOptions& options, TcpBalancer& balancer);
  ~TcpSession();
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  // Serves the connection to the end. `peeked`: a peek already done by the caller (shared
  // HTTP+TCP entrypoints); otherwise the session peeks when the entrypoint needs it.
  awaitable<TcpSessionStats> run(std::optional<PeekResult> peeked = std::nullopt);
  // Aborts the session (both sockets) from the same thread, e.g. at shutdown.
  void cancel();

 private:
  // Dials the servers of `svc` from schedule position `slot` on, each at most once, until one
  // connects (PROXY header sent, TLS handshake done). false when none did.
  awaitable<bool> dial_any(const TcpServiceRuntime& svc, uint32_t slot);
  // "" or why the dial failed.
  awaitable<std::string> dial(const TcpServiceRuntime& svc, const TcpBackend& backend);
  awaitable<std::string> start_backend_tls(const TcpTransport& transport);
  awaitable<void> answer_acme_tls(const PeekResult& hello);
  awaitable<void> relay_plain();
  awaitable<void> relay_streams(TcpClientStream& client, TcpClientStream& backend);
  void close_client();

  tcp::socket client_;
  tcp::socket backend_;
  size_t entry_;
  std::shared_ptr<const TcpRuntime> rt_;
  const TcpSessionOptions& options_;
  TcpBalancer& balancer_;
  tcp::endpoint source_;
  boost::asio::ip::address client_ip_;
  TcpSessionStats stats_;
  std::unique_ptr<TcpClientStream> tls_;          // the client side, when the route terminates TLS
  std::unique_ptr<TcpClientStream> backend_tls_;  // the server side, for servers with tls
  std::vector<std::unique_ptr<RequestHold>> holds_;  // inFlightConn slots, kept until the end
  struct Shared;
  std::shared_ptr<Shared> shared_;  // watchdog + abort flag used by both relay directions
};

}  // namespace portier::proxy
