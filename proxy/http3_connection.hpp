#pragma once
// The server side of one QUIC connection carrying HTTP/3: owns the ngtcp2 connection (QUIC:
// handshake, loss recovery, flow control, idle timeout), its GnuTLS session and the nghttp3
// connection (HTTP/3 framing, QPACK). Their callbacks only record into Http3Stream objects
// and start one exchange per request (proxy/http2_exchange.*, the request pipeline), exactly
// as the HTTP/2 connection does. Packets arrive from and leave through the listener's socket.
//
// Worker thread only (ngtcp2 and nghttp3 objects are not thread-safe; the listener's socket
// is served by one worker). Owned by shared_ptr: the listener holds it while it is open,
// each running exchange holds it until the exchange ends.
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/udp.hpp>

#include "proxy/asio.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http3_stream.hpp"
#include "proxy/keep_alive_budget.hpp"
#include "proxy/quic_credentials.hpp"
#include "proxy/stream_host.hpp"

namespace portier::proxy {

using udp = asio::ip::udp;

class Http3Listener;

// Protocol limits of the HTTP/3 server side (QUIC transport parameters).
struct Http3Settings {
  uint64_t max_streams_bidi = 100;        // concurrent requests per connection
  uint64_t stream_window = 1 << 20;       // initial_max_stream_data_bidi_remote
  uint64_t connection_window = 4 << 20;   // initial_max_data
};

class Http3Connection final : public StreamHost, public std::enable_shared_from_this<Http3Connection> {
 public:
  static constexpr size_t kScidLen = 18;

  Http3Connection(Http3Listener& listener, std::shared_ptr<const ListenerInfo> info,
                  const udp::endpoint& local, const udp::endpoint& remote, Http3Settings settings = {});
  ~Http3Connection() override;
  Http3Connection(const Http3Connection&) = delete;
  Http3Connection& operator=(const Http3Connection&) = delete;

  // Creates the QUIC connection for a client's first packet (its header `hd`, from
  // ngtcp2_accept). `odcid`: after a Retry, the connection ID the client first chose (its
  // address validated by hd.token); null otherwise. False on failure (nothing registered).
  bool open(const ngtcp2_pkt_hd& hd, const ngtcp2_cid* odcid = nullptr);
  // A datagram addressed to one of this connection's IDs, from `from`.
  void on_datagram(std::span<const uint8_t> data, const udp::endpoint& from);
  // Shutdown: a GOAWAY; the connection closes once its requests are done.
  void drain();
  // Closes at once (CONNECTION_CLOSE with H3_NO_ERROR); exchanges see their streams closed.
  void close();

  // ---- StreamHost ----
  Worker& worker() override;
  const ListenerInfo& info() const override { return *info_; }
  const ClientInfo& client() const override { return client_; }
  int http_version() const override { return 30; }
  asio::any_io_executor executor() const override { return executor_; }
  bool submit_response(Http2Stream& s, const std::vector<nghttp2_nv>& nva, bool has_body) override;
  void submit_continue(Http2Stream& s) override;
  void resume(Http2Stream& s) override;
  void consume(Http2Stream& s, size_t n) override;
  void reset(Http2Stream& s, uint32_t code) override;

 private:
  friend struct Http3Callbacks;

  bool setup_http();
  void note_handshake();
  void write_packets();
  void schedule_write();
  void arm_timer();
  void arm_head_timer();
  void fail(int liberr, bool application);
  void finish();
  void start_exchange(const std::shared_ptr<Http3Stream>& s);
  void close_if_drained();
  void exchange_finished(Http3Stream& s);
  void close_stream(int64_t id, uint64_t code);
  bool send_close(const ngtcp2_connection_close_error& error);
  std::shared_ptr<Http3Stream> stream(int64_t id);
  static awaitable<void> run_exchange(std::shared_ptr<Http3Connection> self, std::shared_ptr<Http3Stream> s);

  Http3Listener& listener_;
  std::shared_ptr<const ListenerInfo> info_;
  Http3Settings settings_;
  udp::endpoint local_;
  udp::endpoint remote_;
  std::string client_ip_;
  ClientInfo client_;  // views client_ip_ and (tls_policy) tls_ref_.policy
  ngtcp2_cid scid_{};
  ngtcp2_conn* conn_ = nullptr;
  nghttp3_conn* http_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  QuicTlsRef tls_ref_;
  std::unordered_map<int64_t, std::shared_ptr<Http3Stream>> streams_;
  asio::any_io_executor executor_;
  asio::steady_timer timer_;
  asio::steady_timer head_timer_;  // portier.headerTimeout until the first request
  bool asked_ = false;             // a request's head was complete
  int live_ = 0;  // exchanges running
  KeepAliveBudget keep_alive_;
  bool keep_alive_spent_ = false;  // the last request keepAliveMax* allows has started
  bool write_posted_ = false;
  bool draining_ = false;
  bool finished_ = false;
};

}  // namespace portier::proxy
