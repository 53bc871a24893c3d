#pragma once
// One client connection speaking HTTP/1.1 on a worker: reads requests (keep-alive,
// pipelining), routes them on the pinned snapshot, forwards them to an upstream connection
// from the worker's pool and streams the response back. Lives and dies on its worker.
#include <memory>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/buffered_body.hpp"
#include "proxy/connection_cap.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/io_buffer.hpp"
#include "proxy/keep_alive_budget.hpp"
#include "proxy/middleware.hpp"
#include "proxy/request_pipeline.hpp"
#include "proxy/response_relay.hpp"
#include "proxy/response_collector.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/tls_socket.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/watchdog.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

using TlsStream = TlsSocket;

// Stream: tcp::socket (cleartext) or TlsStream (handshake done by the caller).
template <class Stream>
class Http1Session final : public Drainable {
 public:
  // `client`: the peer, or the client a PROXY header named.
  Http1Session(Worker& worker, Stream stream, std::shared_ptr<const ListenerInfo> info,
               const tcp::endpoint& client);
  // Before run(): the first request head must be complete by `t` (headerTimeout from accept).
  void set_head_deadline(Watchdog::Clock::time_point t) { head_by_ = t; }
  // Keeps the connection's maxConnections slot for the session's life (a parked session has
  // no coroutine that could hold it).
  void hold(ConnectionSlot slot) { slot_ = std::move(slot); }
  ~Http1Session();

  // Serves requests until the connection closes. Cleartext connections park between requests
  // when nothing is readable yet: the coroutine ends and `self` waits for readability holding
  // no read buffer and no coroutine frame (an idle keep-alive connection costs the session
  // object, its socket and its timer), then a new coroutine on the worker resumes it. TLS
  // connections never park (the TLS layer may already hold the next request).
  static awaitable<void> run(std::unique_ptr<Http1Session> self);
  // Drain: closes the connection if it is waiting for a next request.
  void cancel_if_idle() override;

 private:
  enum class ReadNow { data, would_block, closed };
  // One non-blocking read of what the client has sent (cleartext only).
  ReadNow read_now();
  static void park(std::unique_ptr<Http1Session> self);
  enum class Outcome { keep_alive, close };
  // What the response side needs to know of the request (its head's views do not survive).
  struct Exchange {
    bool head_request;
    bool keep_alive;
    bool upgrade;
    bool has_body;
    bool chunked_ok;  // the client speaks HTTP/1.1: an unsized body may be sent chunked
    int64_t max_response;
    int64_t mem_response;
  };

  awaitable<bool> read_head(RequestHead& head);
  awaitable<void> lingering_close();
  awaitable<Outcome> serve(RequestHead& head);
  // What forward() prepared for the exchange with the upstream (lives in forward's frame).
  struct Plan {
    BufferedBody& body;  // the pipeline's: the body when it is read whole first
    Exchange ex{};
    bool buffered_body = false;  // the body was read whole first (buffering, a middleware)
    std::string request_head;
  };

  awaitable<Outcome> forward(RequestHead& head, RequestPipeline& pipeline);
  awaitable<Outcome> exchange(const RequestHead& head, RequestPipeline& pipeline, Plan& plan);
  awaitable<int> attempt_exchange(const RequestHead& head, RequestPipeline& pipeline, Plan& plan,
                                  UpstreamConn& up, ResponseHead& resp, Attempt& attempt);
  awaitable<Outcome> send_error(int status, bool close);
  awaitable<bool> send_continue();
  awaitable<int> read_body_first(const RequestHead& head, RequestPipeline& pipeline);
  awaitable<bool> send_request_body(const RequestHead& head, UpstreamConn& up);
  // Not a coroutine: the response head, then the relay's frame (relay_framed() on the plain
  // path, relay_response() otherwise), so the plain path costs one frame per response.
  awaitable<Outcome> respond(const Exchange& ex, std::unique_ptr<UpstreamConn> up,
                             const ResponseHead& resp, RequestPipeline& pipeline);
  awaitable<Outcome> relay_response(const Exchange& ex, std::unique_ptr<UpstreamConn> up,
                                    const ResponseHead& resp, RequestPipeline& pipeline,
                                    std::string out);
  // Not a coroutine: the head `out` (status line and fields) completed with the upstream's
  // framing, and relay_framed() writing that framing through. `up`'s head is consumed.
  awaitable<Outcome> relay_plain(std::unique_ptr<UpstreamConn> up, const ResponseHead& resp,
                                 RequestPipeline& pipeline, std::string out, bool client_close);
  awaitable<Outcome> relay_collected(const Exchange& ex, std::unique_ptr<UpstreamConn> up,
                                     const ResponseHead& resp, std::string out, bool client_close,
                                     RequestPipeline& pipeline);
  // The pipeline's local reply (redirects, errors, a middleware's answer).
  awaitable<Outcome> send_local(const RequestPipeline& pipeline, bool close);
  // How this codec writes a relayed body (proxy/response_relay.hpp): the upstream's framing
  // through (relay_framed()), or a payload chunked or unframed (a BodySink).
  class PlainWriter;
  class BodyWriter;
  Outcome relayed(Relayed end, bool resp_reusable, std::unique_ptr<UpstreamConn>& up, bool client_close);
  // Reads the whole request body (buffering middleware); 0, an HTTP status to answer, or -1.
  awaitable<int> buffer_request_body(const RequestHead& head, const RequestPipeline& pipeline,
                                     BufferedBody& out);
  awaitable<void> tunnel(UpstreamConn& up);

  // The timeout of the next read of the request (head or body): `step`, within what is left
  // of the entrypoint's readTimeout for the whole request.
  // How long to wait for a request's bytes: idleTimeout between requests, what is left of
  // headerTimeout before the first one.
  Watchdog::Clock::duration wait_budget() const {
    Watchdog::Clock::duration idle = info_->entry_point.idle_timeout;
    if (head_by_ == Watchdog::Clock::time_point::max()) return idle;
    return std::min(idle, head_by_ - Watchdog::Clock::now());
  }

  Watchdog::Clock::duration read_budget(Watchdog::Clock::duration step) const {
    return Watchdog::remaining(request_start_, info_->entry_point.read_timeout, step);
  }

  // Arms the watchdog for one write of the response: `step`, within what is left of the
  // entrypoint's writeTimeout (from the end of the request head, as Go's server). False when
  // nothing is left: the response must not start or go on (the connection is closed).
  bool arm_write(Watchdog::Clock::duration step) {
    auto budget = Watchdog::remaining(response_start_, info_->entry_point.write_timeout, step);
    if (budget <= Watchdog::Clock::duration::zero()) return false;
    watchdog_.arm(budget);
    return true;
  }

  static tcp::socket& raw(tcp::socket& s) { return s; }
  static tcp::socket& raw(TlsStream& s) { return s.next_layer(); }
  tcp::socket& sock() { return raw(stream_); }

  Worker& worker_;
  Stream stream_;
  std::shared_ptr<const ListenerInfo> info_;
  IoBuffer in_;
  Watchdog watchdog_;
  std::string client_ip_;
  ClientInfo client_;  // views client_ip_ (the session never moves)
  ConnectionSlot slot_;
  Watchdog::Clock::time_point request_start_{};
  // Until the first request head is complete: when it must be (then max()).
  Watchdog::Clock::time_point head_by_ = Watchdog::Clock::time_point::max();
  Watchdog::Clock::time_point response_start_{};
  KeepAliveBudget keep_alive_;
  std::string target_;  // the request's target after apply_target_rules, when they changed it
  RequestPipeline* pipeline_ = nullptr;  // the request being served (its errors are recorded)
  bool idle_ = true;
  bool served_ = false;  // a request was answered: an idle connection is then a kept-alive one
  bool unread_input_ = false;  // answered before reading the request whole: linger on close
};

}  // namespace portier::proxy
