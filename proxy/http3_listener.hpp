#pragma once
// The HTTP/3 side of one HTTP entrypoint (entryPoints.NAME.http3) on one UDP socket, served by
// one worker. An address has one such socket per worker (SO_REUSEPORT), the kernel steering
// each packet by its destination connection ID to the socket whose listener issued that ID
// (proxy/quic_steering.hpp): QUIC connections are not thread-safe and a connection's packets
// must reach the one object that holds its state. Datagrams are dispatched to connections by
// destination connection ID; a client's first Initial packet opens one. The stateless answers
// (Retry, Version Negotiation, stateless reset) are sent from here.
//
// Worker thread only, except live_connections(). Connections are owned here while open.
#include <ngtcp2/ngtcp2.h>

#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/udp.hpp>

#include "proxy/asio.hpp"
#include "proxy/quic_credentials.hpp"
#include "proxy/quic_steering.hpp"

namespace portier::proxy {

using udp = asio::ip::udp;

class Http3Connection;
class Worker;
struct ListenerInfo;

// The secrets of the stateless answers, one set per process, shared by every listener: a
// stateless reset or a Retry token made on one worker's socket checks on another's (a packet
// reaches whichever socket its connection ID steers to).
struct QuicSecrets {
  std::array<uint8_t, 32> reset{};
  std::array<uint8_t, 32> token{};  // Retry tokens
  static std::shared_ptr<const QuicSecrets> generate();
};

struct Http3ListenerOptions {
  // Open QUIC connections at most, on every socket of the entrypoint together; past it a
  // client's first packet is dropped.
  size_t max_connections = 10000;
  // From this many open connections on, a client's first packet gets a Retry: it must prove
  // it receives at its address (stateless address validation) before the server keeps state
  // or sends more than the Retry.
  size_t retry_from = 5000;
  // The entrypoint's open QUIC connections, counted by all its listeners (any thread). Null:
  // this listener counts alone.
  std::shared_ptr<std::atomic<size_t>> open_connections;
  // Null: generated for this listener.
  std::shared_ptr<const QuicSecrets> secrets;
  QuicSteering steering;
};

class Http3Listener {
 public:
  // `socket` is open and bound; `info` is the entrypoint's TLS side; `store` outlives this.
  Http3Listener(Worker& worker, udp::socket socket, std::shared_ptr<const ListenerInfo> info,
                const tls::CertStore& store, Http3ListenerOptions options = {});
  ~Http3Listener();
  Http3Listener(const Http3Listener&) = delete;
  Http3Listener& operator=(const Http3Listener&) = delete;

  void start();
  // Shutdown: no new connection; each open one gets a GOAWAY and closes once its requests
  // are done (the socket keeps being read for them).
  void drain();
  // Closes every connection and the socket.
  void stop();
  // Connections still open; any thread.
  size_t live_connections() const { return live_.load(std::memory_order_relaxed); }
  int native_handle() { return socket_.native_handle(); }
  const std::string& entry_point() const;
  udp::endpoint local_endpoint() const;

  // ---- for connections ----
  Worker& worker() { return worker_; }
  QuicCredentials& credentials() { return credentials_; }
  // Sends one datagram now (a full socket buffer drops it: QUIC retransmits).
  void send(const udp::endpoint& to, std::span<const uint8_t> data);
  // The stateless reset token of `cid` (derived from the process's secret).
  bool reset_token(uint8_t* token, const ngtcp2_cid& cid) const;
  // A new server connection ID of `len` bytes that steers to this listener's socket.
  bool new_cid(ngtcp2_cid& cid, size_t len) const;
  void associate(const ngtcp2_cid& cid, Http3Connection* conn);
  void dissociate(const ngtcp2_cid& cid);
  // The connection is over: its IDs and the listener's reference go.
  void forget(Http3Connection* conn);

 private:
  awaitable<void> receive_loop();
  void dispatch(std::span<const uint8_t> data, const udp::endpoint& from);
  void accept(std::span<const uint8_t> data, const udp::endpoint& from);
  void send_retry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from);
  void send_version_negotiation(const ngtcp2_version_cid& vc, const udp::endpoint& from);
  void send_stateless_reset(const ngtcp2_version_cid& vc, size_t received, const udp::endpoint& from);

  Worker& worker_;
  udp::socket socket_;
  udp::endpoint local_;
  std::shared_ptr<const ListenerInfo> info_;
  QuicCredentials credentials_;
  Http3ListenerOptions options_;  // open_connections and secrets never null
  std::unordered_map<std::string, Http3Connection*> by_cid_;
  std::unordered_map<Http3Connection*, std::shared_ptr<Http3Connection>> connections_;
  std::atomic<size_t> live_{0};
  bool draining_ = false;
};

}  // namespace portier::proxy
