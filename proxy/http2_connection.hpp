#pragma once
// The HTTP/2 server side of one client connection, independent of the transport: owns the
// nghttp2 session (whose callbacks only record into Http2Stream objects), the stream map,
// the connection deadline (idle / write) and the exchanges it spawns, one per request.
// Http2Session<Stream> moves the bytes between the transport and this object.
// Worker thread only. Exchanges refer to it: it must outlive them (wait_exchanges()).
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http2_frame_scan.hpp"
#include "proxy/http2_stream.hpp"
#include "proxy/keep_alive_budget.hpp"
#include "proxy/recent_stream_ids.hpp"
#include "proxy/stream_host.hpp"
#include "proxy/watchdog.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

// Protocol limits of the HTTP/2 server side.
struct Http2Settings {
  uint32_t max_concurrent_streams = 100;
  uint32_t stream_window = 1 << 20;      // SETTINGS_INITIAL_WINDOW_SIZE
  uint32_t connection_window = 4 << 20;  // receive window of the whole connection
  // Rapid reset (CVE-2023-44487): token bucket on RST_STREAM from the client; GOAWAY when empty.
  uint64_t reset_burst = 200;
  uint64_t reset_rate = 33;  // tokens per second
  // Frames that carry nothing (empty DATA without END_STREAM) allowed per second.
  uint32_t max_empty_frames_per_second = 100;
};

class Http2Connection final : public Drainable, public StreamHost {
 public:
  // `sock` is the transport's TCP socket: the deadline cancels it. `client`: the peer, or the
  // client a PROXY header named.
  Http2Connection(Worker& worker, tcp::socket& sock, std::shared_ptr<const ListenerInfo> info,
                  const tcp::endpoint& client, Http2Settings settings = {});
  ~Http2Connection() override;
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  // ---- for the transport loop ----
  // Creates the nghttp2 session and queues the server SETTINGS. False on failure.
  bool open();
  // Feeds received bytes and starts the exchanges of completed request heads. False when
  // the connection must end (what is queued, e.g. a GOAWAY, may still be flushed).
  bool feed(std::string_view data);
  // Appends queued frames to `out` up to about `max` bytes. False on a fatal error.
  bool pull(std::string& out, size_t max);
  // Whether the connection still has work: nghttp2 wants to read or write, or an exchange runs.
  bool wants_io() const;
  // Waits until new output may be available (wake_writer()).
  awaitable<void> wait_for_output();
  void set_writing(bool writing);
  // The read side ended (EOF, error, or the deadline): the writer flushes and stops.
  void read_ended();
  bool read_closed() const { return read_closed_; }
  // Connection over: every exchange sees its stream closed; then wait_exchanges().
  void close_streams();
  awaitable<void> wait_exchanges();

  // ---- for exchanges ----
  Worker& worker() override { return worker_; }
  const ListenerInfo& info() const override { return *info_; }
  const ClientInfo& client() const override { return client_; }
  // Over TLS (not h2c), before open(): the handshake's facts for client().
  void set_handshake(const SSL* ssl) { proxy::set_handshake(client_, ssl); }
  // Until the first exchange starts, the connection ends at `t` (headerTimeout) if that is
  // earlier than its idle deadline.
  void set_first_request_deadline(std::chrono::steady_clock::time_point t) {
    idle_deadline_ = std::min(idle_deadline_, t);
    update_deadline();
  }
  int http_version() const override { return 20; }
  asio::any_io_executor executor() const override { return executor_; }
  // StreamHost
  bool submit_response(Http2Stream& s, const std::vector<nghttp2_nv>& nva, bool has_body) override;
  void submit_continue(Http2Stream& s) override;
  void resume(Http2Stream& s) override;
  void consume(Http2Stream& s, size_t n) override;
  void reset(Http2Stream& s, uint32_t code) override;
  void wake_writer() { write_wake_.cancel(); }

  // Drain: a GOAWAY notice and a PING, then the final GOAWAY once the PING is acknowledged
  // (or after kDrainNotice); the connection closes when no stream is open.
  void cancel_if_idle() override;
  static constexpr std::chrono::milliseconds kDrainNotice{1000};

 private:
  friend struct Http2Callbacks;

  void end_session(uint32_t code);
  bool receive(std::string_view data);
  uint32_t judge_frame(const Http2FrameHeader& frame) const;
  void start_ready();
  void exchange_finished(Http2Stream& s);
  void update_deadline();
  bool count_empty_frame();

  Worker& worker_;
  tcp::socket& sock_;
  asio::any_io_executor executor_;
  std::shared_ptr<const ListenerInfo> info_;
  Http2Settings settings_;
  std::string client_ip_;
  ClientInfo client_;  // views client_ip_
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<Http2Stream>> streams_;
  std::vector<std::shared_ptr<Http2Stream>> ready_;  // request heads complete, not started
  int live_ = 0;                                     // exchanges running
  KeepAliveBudget keep_alive_;
  // For the checks nghttp2 leaves to us (judge_frame, Http2FrameScan).
  Http2FrameScan scan_;
  int32_t highest_stream_ = 0;             // highest stream the client opened
  RecentStreamIds<128> closed_by_client_;  // END_STREAM or RST_STREAM received
  RecentStreamIds<128> reset_by_server_;   // RST_STREAM sent
  Watchdog watchdog_;
  asio::steady_timer write_wake_;
  asio::steady_timer exchanges_done_;
  std::chrono::steady_clock::time_point idle_deadline_;
  std::chrono::steady_clock::time_point empty_window_start_;
  uint32_t empty_frames_ = 0;
  bool writing_ = false;
  bool read_closed_ = false;
  bool dead_ = false;
  bool draining_ = false;
  bool keep_alive_spent_ = false;  // the stream marked last_request has closed
  bool notice_acked_ = false;  // draining: the client acknowledged the PING sent with the notice
  bool final_goaway_ = false;  // draining: the GOAWAY naming the last stream processed was sent
  std::chrono::steady_clock::time_point notice_until_;
};

}  // namespace portier::proxy
