#include "proxy/http1_session.hpp"

#include <array>
#include <cerrno>
#include <sys/socket.h>
#include <type_traits>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/log.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/request_target.hpp"
#include "proxy/response_relay.hpp"

namespace portier::proxy {

template <class Stream>
Http1Session<Stream>::Http1Session(Worker& worker, Stream stream, std::shared_ptr<const ListenerInfo> info,
                                   const tcp::endpoint& client)
    : worker_(worker), stream_(std::move(stream)), info_(std::move(info)), watchdog_(stream_.get_executor()),
      client_ip_(client.address().to_string()), client_(client_info(client, client_ip_, *info_)) {
  if constexpr (std::is_same_v<Stream, TlsStream>) set_handshake(client_, stream_.native_handle());
  error_code ec;
  sock().set_option(tcp::no_delay(true), ec);
  watchdog_.watch(&sock());
  worker_.register_session(this);
}

template <class Stream>
Http1Session<Stream>::~Http1Session() { worker_.unregister_session(this); }

constexpr std::chrono::seconds kDrainFirstRequest{2};

// Draining closes kept-alive connections between requests (a client retries a request on a
// reused connection that closes). A new connection still waiting for its first request gets
// kDrainFirstRequest to send it (it was accepted, so its client expects an answer; with
// socket activation the next process takes the connections not accepted yet).
template <class Stream>
void Http1Session<Stream>::cancel_if_idle() {
  if (!idle_) return;
  if (!served_) {
    watchdog_.arm(kDrainFirstRequest);
    return;
  }
  error_code ec;
  sock().cancel(ec);
}

// Buffer a waiting connection reads its next request into (grown when a head is larger).
constexpr size_t kIdleBuffer = 1024;

template <class Stream>
awaitable<void> Http1Session<Stream>::run(std::unique_ptr<Http1Session> self) {
  constexpr bool parks = std::is_same_v<Stream, tcp::socket>;  // a TLS layer may hold unread bytes
  RequestHead head;
  for (;;) {
    if (self->served_ && self->worker_.draining()) break;
    if (parks && self->in_.empty()) {
      ReadNow got = self->read_now();
      if (got == ReadNow::closed) break;
      if (got == ReadNow::would_block) {
        park(std::move(self));
        co_return;
      }
    }
    if (!co_await self->read_head(head)) break;
    self->served_ = true;
    if (co_await self->serve(head) == Outcome::close) break;
  }
  co_await self->lingering_close();
}

template <class Stream>
typename Http1Session<Stream>::ReadNow Http1Session<Stream>::read_now() {
  auto space = in_.prepare(kIdleBuffer, info_->http.max_header_bytes + 4096);
  ssize_t n = ::recv(sock().native_handle(), space.data(), space.size(), MSG_DONTWAIT);
  if (n > 0) {
    in_.commit(static_cast<size_t>(n));
    return ReadNow::data;
  }
  in_.release_if_empty();
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ReadNow::would_block;
  return ReadNow::closed;
}

// Waiting for readability right after a read saw EAGAIN cannot miss the client's next bytes
// (their arrival is a new edge for the reactor). The idle timeout and a drain cancel the wait,
// which ends the session.
template <class Stream>
void Http1Session<Stream>::park(std::unique_ptr<Http1Session> self) {
  self->idle_ = true;
  self->watchdog_.watch(&self->sock());  // the last exchange's upstream connection may be gone
  self->watchdog_.arm(self->wait_budget());
  tcp::socket& socket = self->sock();
  socket.async_wait(tcp::socket::wait_read, [self = std::move(self)](error_code ec) mutable {
    self->idle_ = false;
    if (ec) return;  // closed by the idle timeout or a drain; bytes that arrived are served
    Worker& worker = self->worker_;
    worker.spawn(run(std::move(self)));
  });
}

// Half-closes, then discards what the client still sends for a moment, so that a response
// sent before the request was fully read (400, 413, 431...) reaches the client instead of
// being destroyed by a reset. TLS first sends close_notify (an EOF without it is an error for
// OpenSSL 3 clients such as curl), without waiting for the peer's.
template <class Stream>
awaitable<void> Http1Session<Stream>::lingering_close() {
  error_code ec;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    // Our close_notify only, as nginx does: the client has its response by now, and waiting
    // for its close_notify would cost a read per connection. (Marking the peer's as received
    // makes the shutdown complete once ours is written.)
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    watchdog_.watch(&sock());
    watchdog_.arm(std::chrono::milliseconds(500));
    co_await stream_.async_shutdown(use_tuple);
    if (watchdog_.expired()) {
      sock().close(ec);
      co_return;
    }
  }
  sock().shutdown(tcp::socket::shutdown_send, ec);
  // Only after answering a request that was not read whole: draining after a complete
  // exchange would swallow what a client already sent on a connection it has not seen close.
  if (!ec && unread_input_) {
    watchdog_.watch(&sock());
    watchdog_.arm(std::chrono::milliseconds(500));
    std::array<char, 4096> sink;
    size_t drained = 0;
    while (drained < (1 << 18)) {
      auto [rec, n] = co_await sock().async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      drained += n;
    }
  }
  sock().close(ec);
}

// Waits for the next request head. Idle keep-alive time is bounded by the entrypoint's
// idleTimeout (cleartext idle connections hold no buffer); once bytes arrive, the head must
// complete within its headerTimeout. The first request's head has headerTimeout from accept
// in all (head_by_).

template <class Stream>
awaitable<bool> Http1Session<Stream>::read_head(RequestHead& head) {
  const HttpLimits& limits = info_->http;
  watchdog_.watch(&sock());  // the last exchange's upstream connection may be gone
  if (in_.empty()) {
    idle_ = true;
    watchdog_.arm(wait_budget());
    // Between requests the connection keeps only a small buffer. Reading (rather than waiting
    // for readability) costs one reactor operation per request, and for TLS it is required:
    // the TLS layer may already hold the next request (read together with the handshake's last
    // flight or a previous record), in which case the socket never becomes readable.
    in_.release_if_empty();
    auto [ec, n] = co_await stream_.async_read_some(in_.prepare(kIdleBuffer, limits.max_header_bytes + 4096), use_tuple);
    idle_ = false;
    if (ec) co_return false;
    in_.commit(n);
  }
  idle_ = false;
  request_start_ = response_start_ = Watchdog::Clock::now();  // readTimeout runs from here
  watchdog_.arm(std::min(read_budget(info_->entry_point.header_timeout), wait_budget()));
  for (;;) {
    if (!in_.empty()) {
      ParseOutcome r = parse_request_head(in_.readable(), limits, head);
      if (r.status == ParseStatus::complete) {
        watchdog_.disarm();
        head_by_ = Watchdog::Clock::time_point::max();
        if (info_->entry_point.write_timeout.count() > 0) response_start_ = Watchdog::Clock::now();
        co_return true;
      }
      if (r.status == ParseStatus::error) {
        core::log_debug("bad request from ", client_ip_, ": ", r.reason);
        unread_input_ = true;
        co_await send_error(r.http_status, true);
        co_return false;
      }
    }
    auto [ec, n] = co_await stream_.async_read_some(in_.prepare(4096, limits.max_header_bytes + 4096), use_tuple);
    if (ec) {
      if (watchdog_.expired() && !in_.empty()) co_await send_error(408, true);
      co_return false;
    }
    in_.commit(n);
  }
}

// The pipeline decides; this codec reads the body and writes what it produced.
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::serve(RequestHead& head) {
  const config::EntryPoint& ep = info_->entry_point;
  if (!apply_target_rules(head, {ep.sanitize_path, ep.encode_query_semicolons}, target_)) {
    unread_input_ = true;
    co_await send_error(400, true);  // Go: "invalid URL escape"
    co_return Outcome::close;
  }
  if (keep_alive_.last_request(ep)) head.keep_alive = false;  // "Connection: close"
  RequestPipeline pipeline(worker_, *info_, client_);
  pipeline_ = &pipeline;
  struct Done {
    RequestPipeline*& current;
    ~Done() { current = nullptr; }
  } done{pipeline_};
  using Step = RequestPipeline::Step;
  auto step = pipeline.start(head);
  while (step == Step::async || step == Step::body) {
    if (step == Step::body) {
      int status = co_await read_body_first(head, pipeline);
      if (status != 0) {
        unread_input_ = true;
        if (status > 0) co_await send_error(status, true);
        co_return Outcome::close;
      }
    }
    step = co_await pipeline.resume(head);
  }
  if (step == Step::reply) {
    // The body (if any) is not read: close unless there is none.
    bool has_body = head.body != BodyKind::none;
    in_.consume(head.head_size);
    unread_input_ = has_body;
    co_return co_await send_local(pipeline, has_body || !head.keep_alive);
  }
  co_return co_await forward(head, pipeline);
}

template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::send_error(int status, bool close) {
  std::string out = error_response(status, close);
  if (pipeline_) pipeline_->note_error(status);
  if (!arm_write(worker_.limits().body_timeout)) co_return Outcome::close;
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
  if (close || ec) co_return Outcome::close;
  co_return Outcome::keep_alive;
}

// Reads the body when the pipeline wants it whole and prepares the upstream request; the
// exchange itself is exchange()'s (two frames, each under Asio's recycling limit).
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::forward(
    RequestHead& head, RequestPipeline& pipeline) {
  bool has_body = head.body != BodyKind::none;
  Plan plan{.body = pipeline.request_body()};
  // Buffering reads the whole body first (beside the head, whose views stay valid), unless a
  // middleware had it read already (Step::body).
  plan.buffered_body = pipeline.body_read() || pipeline.buffer_request(head);
  if (!pipeline.body_read()) {
    if (head.expect_continue && has_body && !co_await send_continue()) co_return Outcome::close;
    if (plan.buffered_body) {
      int status = co_await buffer_request_body(head, pipeline, plan.body);
      pipeline.note_request_body(plan.body.size());
      if (status != 0) {
        unread_input_ = true;
        if (status > 0) co_await send_error(status, true);
        co_return Outcome::close;
      }
    }
  }
  plan.request_head = pipeline.upstream_head(head);
  // From here on the head's views may dangle (the buffer is reused for the body).
  const BodyLimits& limits = pipeline.limits();
  plan.ex = Exchange{head.method == "HEAD", head.keep_alive, head.upgrade, has_body,
                     head.version_minor >= 1, limits.max_response, limits.mem_response};
  in_.consume(head.head_size + plan.body.from_input);
  plan.body.restore_leftover(in_);
  co_return co_await exchange(head, pipeline, plan);
}

// Sends the planned request upstream and relays the response. An attempt that fails before a
// response head, or whose response the retry middleware discards, is reported to the pipeline,
// which decides whether another is made (RequestPipeline::retry: a dead pooled connection once
// on a fresh one, then the retry middleware, on the next server).
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::exchange(
    const RequestHead& head, RequestPipeline& pipeline, Plan& plan) {
  bool replayable = RequestPipeline::replayable(head, plan.buffered_body);
  int failed = 502;
  bool dialed = false;
  for (bool fresh = false;;) {
    Attempt attempt;
    auto up = fresh ? nullptr : worker_.pool().take(pipeline.server().pool_key, replayable);
    if (!up) up = co_await pipeline.connect(watchdog_, &sock());
    dialed = up != nullptr;
    if (up) {
      attempt.reused = up->reused;
      ResponseHead resp;
      failed = co_await attempt_exchange(head, pipeline, plan, *up, resp, attempt);
      if (failed < 0) co_return Outcome::close;  // the client's body is gone
      if (failed == 0 && !pipeline.retries_status(resp.status, replayable)) {
        if (pipeline.replaces(resp.status)) {  // an error page instead (the response dropped)
          co_await pipeline.replace_answer(resp.status, true);
          co_return co_await send_local(pipeline, !plan.ex.keep_alive);
        }
        co_return co_await respond(plan.ex, std::move(up), resp, pipeline);
      }
      if (failed == 0) failed = 502;  // discarded: the next attempt answers
    }
    fresh = attempt.reused && !attempt.received;
    if (!co_await pipeline.retry(attempt, replayable)) break;
  }
  if (!dialed) {
    unread_input_ = !replayable;  // the dial failed: the body, if any, was not read
    failed = 502;
  }
  bool close = dialed || !replayable || !plan.ex.keep_alive;
  if (pipeline.replaces(failed)) {
    co_await pipeline.replace_answer(failed, false);
    co_return co_await send_local(pipeline, close);
  }
  co_return co_await send_error(failed, close);
}

// One attempt on `up`: the head, the body, the response head into `resp`. 0 when it came,
// else the status to answer (502, 504) or -1 when a streamed body failed half-way.
template <class Stream>
awaitable<int> Http1Session<Stream>::attempt_exchange(const RequestHead& head, RequestPipeline& pipeline,
                                                      Plan& plan, UpstreamConn& up, ResponseHead& resp,
                                                      Attempt& attempt) {
  watchdog_.watch(&sock(), &up.socket());
  watchdog_.arm(worker_.limits().body_timeout);
  auto [ec, n] = co_await up.write(asio::buffer(plan.request_head));
  if (ec) co_return 502;
  attempt.written = true;
  if (plan.ex.has_body) {
    bool sent = plan.buffered_body ? co_await pipeline.send_buffered(plan.body, up, watchdog_)
                                   : co_await send_request_body(head, up);
    if (!sent) co_return plan.buffered_body ? 502 : -1;
  }
  bool silent = false;
  int status = co_await pipeline.read_response_head(up, plan.ex.head_request, resp, watchdog_, &silent);
  attempt.received = !silent;
  attempt.responded = status == 0;
  attempt.status = resp.status;
  co_return status;
}

template <class Stream>
awaitable<bool> Http1Session<Stream>::send_continue() {
  static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
  if (!arm_write(worker_.limits().body_timeout)) co_return false;
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(k100), use_tuple);
  co_return !ec;
}

// Step::body: the whole body into the pipeline's request_body() before the middleware that
// wants it runs. 0, or the status to answer (-1: the connection is gone).
template <class Stream>
awaitable<int> Http1Session<Stream>::read_body_first(const RequestHead& head, RequestPipeline& pipeline) {
  if (head.expect_continue && !co_await send_continue()) co_return -1;
  int status = co_await buffer_request_body(head, pipeline, pipeline.request_body());
  pipeline.note_request_body(pipeline.request_body().size());
  co_return status;
}

template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::send_local(
    const RequestPipeline& pipeline, bool close) {
  const LocalReply& reply = pipeline.local();
  std::string out = status_line(reply.status);
  pipeline.local_headers(
      [&out](std::string_view name, std::string_view value) { append_header(out, name, value); });
  append_header(out, "Content-Length", std::to_string(reply.body.size()));
  if (close) append_header(out, "Connection", "close");
  out += "\r\n";
  out += reply.body;
  if (!arm_write(worker_.limits().body_timeout)) co_return Outcome::close;
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
  co_return (ec || close) ? Outcome::close : Outcome::keep_alive;
}

// Reads the whole body next to the head: what is already in the input buffer, then from the
// socket into the BufferedBody, enforcing maxRequestBodyBytes on the decoded size.
template <class Stream>
awaitable<int> Http1Session<Stream>::buffer_request_body(const RequestHead& head,
                                                         const RequestPipeline& pipeline,
                                                         BufferedBody& out) {
  const BodyLimits& limits = pipeline.limits();
  BodyFraming framing(head.body, head.content_length);
  std::string_view avail = in_.readable().substr(head.head_size);
  bool from_socket = false;
  std::vector<char> chunk;
  for (;;) {
    size_t take = 0;
    auto step = framing.feed(avail, &take);
    if (step == BodyFraming::Step::error) co_return 400;
    if (int refused = pipeline.check_body(framing.body_bytes())) co_return refused;
    bool done = step == BodyFraming::Step::done;
    if (!out.append(avail.substr(0, take), limits.mem_request)) co_return 500;
    if (from_socket) {
      if (done) out.leftover.assign(avail.substr(take));
    } else {
      out.from_input += take;
    }
    if (done) co_return 0;
    chunk.resize(65536);
    watchdog_.arm(read_budget(worker_.limits().body_timeout));
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec) co_return -1;
    avail = std::string_view(chunk.data(), n);
    from_socket = true;
  }
}

// Streams the request body (bytes already buffered first) to the upstream, per the framing.
template <class Stream>
awaitable<bool> Http1Session<Stream>::send_request_body(const RequestHead& head, UpstreamConn& up) {
  BodyFraming framing(head.body, head.content_length);
  for (;;) {
    std::string_view avail = in_.readable();
    size_t take = 0;
    auto step = framing.feed(avail, &take);
    if (step == BodyFraming::Step::error) {
      unread_input_ = true;
      co_await send_error(400, true);
      co_return false;
    }
    bool done = step == BodyFraming::Step::done;
    if (take > 0) {
      watchdog_.arm(worker_.limits().body_timeout);
      auto [ec, n] = co_await up.write(asio::buffer(avail.data(), take));
      if (ec) co_return false;
      in_.consume(take);
    }
    if (done) {
      if (pipeline_) pipeline_->note_request_body(framing.body_bytes());
      co_return true;
    }
    watchdog_.arm(read_budget(worker_.limits().body_timeout));
    auto [ec, n] = co_await stream_.async_read_some(in_.prepare(16384, 65536), use_tuple);
    if (ec) co_return false;
    in_.commit(n);
  }
}

// The FramedSink of relay_framed(): the upstream's framing written through, the response
// head with the first write. Moved into the relay's frame: it owns what the relay needs once
// respond() has returned (the head, the upstream connection).
template <class Stream>
class Http1Session<Stream>::PlainWriter {
 public:
  using Result = Outcome;
  PlainWriter(Http1Session& session, std::string head, std::unique_ptr<UpstreamConn> up,
              bool client_close)
      : session_(session), head_(std::move(head)), up_(std::move(up)), client_close_(client_close) {}
  UpstreamConn& upstream() { return *up_; }
  bool arm_write() { return session_.arm_write(session_.worker_.limits().body_timeout); }
  auto write_framed(std::string_view wire) {
    std::string_view head = head_sent_ ? std::string_view() : std::string_view(head_);
    head_sent_ = true;
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(wire)};
    return asio::async_write(session_.stream_, bufs, use_tuple);  // holds a copy of `bufs`
  }
  Watchdog::Clock::duration upstream_wait() { return session_.worker_.limits().body_timeout; }
  // `resp_reusable`: the upstream may carry another request (keep-alive, a delimited body).
  Outcome finish(Relayed end, bool resp_reusable) {
    return session_.relayed(end, resp_reusable, up_, client_close_);
  }

 private:
  Http1Session& session_;
  std::string head_;
  std::unique_ptr<UpstreamConn> up_;
  bool client_close_;
  bool head_sent_ = false;
};

// The BodySink of relay_body() and relay_collected(): the payload chunked, or unframed (an
// HTTP/1.0 client's filtered body, a collected body with its Content-Length), the response
// head with the first write; the upstream's trailers are not relayed (a filter rewrote the
// body, or it was collected). Lives in the frame of relay_response() or relay_collected();
// `head` outlives it.
template <class Stream>
class Http1Session<Stream>::BodyWriter final : public BodySink {
 public:
  BodyWriter(Http1Session& session, std::string_view head, bool chunked)
      : session_(session), head_(head), chunked_(chunked) {}
  IoBuffer& payload() override { return payload_; }
  Watchdog::Clock::duration upstream_wait() override { return session_.worker_.limits().body_timeout; }

  Flow push(bool last, std::string_view) override {
    last_ = last;
    return Flow::drain;
  }

  // Chunked: each push is one chunk (none when empty), the last one ends with the zero-size
  // chunk.
  awaitable<bool> drain() override {
    const bool last = last_;
    char size_line[24];
    size_t size_len = chunked_ && !payload_.empty()
                          ? static_cast<size_t>(std::snprintf(size_line, sizeof size_line, "%zx\r\n", payload_.size()))
                          : 0;
    std::string_view tail = !chunked_ ? "" : last ? (payload_.empty() ? "0\r\n\r\n" : "\r\n0\r\n\r\n")
                                                  : (payload_.empty() ? "" : "\r\n");
    std::array<asio::const_buffer, 4> bufs{asio::buffer(head_), asio::buffer(size_line, size_len),
                                           asio::buffer(payload_.readable().data(), payload_.size()),
                                           asio::buffer(tail.data(), tail.size())};
    bool written = true;
    if (asio::buffer_size(bufs) > 0) {
      if (!session_.arm_write(session_.worker_.limits().body_timeout)) co_return false;
      auto [ec, n] = co_await asio::async_write(session_.stream_, bufs, use_tuple);
      written = !ec;
    }
    head_ = {};
    payload_.consume(payload_.size());
    co_return written;
  }

 private:
  Http1Session& session_;
  std::string_view head_;  // until the first write
  bool chunked_;
  bool last_ = false;  // push() handed over the body's end
  IoBuffer payload_;
};

// The upstream's response: the head (the pipeline's response-head phase), then the body
// through the pipeline's relay. The plain case (no upgrade, sniffing, filter or collected
// body) goes straight to relay_framed(), whose frame is the only one of the response.
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::respond(
    const Exchange& ex, std::unique_ptr<UpstreamConn> up, const ResponseHead& resp,
    RequestPipeline& pipeline) {
  if (int refused = pipeline.refuse_response(resp)) return send_error(refused, true);
  // The status line, the pipeline's response headers; framing and connection headers below.
  std::string out;
  out.reserve(resp.head_size + 128);
  append_status_line(out, resp.status, resp.reason);
  pipeline.response_headers(resp, [&out](std::string_view name, std::string_view value) {
    append_header(out, name, value);
  });
  bool upgrade = resp.status == 101 && ex.upgrade;
  if (upgrade || pipeline.sniffs(resp) || pipeline.filters_body() || pipeline.collects_response(resp))
    return relay_response(ex, std::move(up), resp, pipeline, std::move(out));
  bool client_close = !ex.keep_alive || worker_.draining() || resp.body == BodyKind::until_close;
  up->buf.consume(resp.head_size);
  return relay_plain(std::move(up), resp, pipeline, std::move(out), client_close);
}

template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::relay_plain(
    std::unique_ptr<UpstreamConn> up, const ResponseHead& resp, RequestPipeline& pipeline, std::string out,
    bool client_close) {
  if (resp.body == BodyKind::chunked) append_header(out, "Transfer-Encoding", "chunked");
  if (client_close) append_header(out, "Connection", "close");
  out.append("\r\n");
  return relay_framed(pipeline, resp.body, resp.content_length, reusable(resp),
                      PlainWriter(*this, std::move(out), std::move(up), client_close), watchdog_);
}

// The other cases: an upgrade (then the tunnel), a sniffed Content-Type, a filtered body, an
// unsized one collected under maxResponseBodyBytes. `out`: the head so far (status line and
// fields). Its own frame, so that the plain path does not pay for it.
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::relay_response(
    const Exchange& ex, std::unique_ptr<UpstreamConn> up, const ResponseHead& resp,
    RequestPipeline& pipeline, std::string out) {
  bool upgrade = resp.status == 101 && ex.upgrade;
  // The head's bytes are consumed here; its views stay valid until up->buf is read into.
  std::string_view upgrade_to = upgrade ? find_header(resp.headers, "upgrade") : std::string_view();
  bool sniff = !upgrade && pipeline.sniffs(resp);
  up->buf.consume(resp.head_size);
  if (sniff) {
    std::string_view type = co_await pipeline.sniff_content_type(*up, resp, watchdog_);
    if (!type.empty()) append_header(out, "Content-Type", type);
  }
  bool filtered = !upgrade && pipeline.filters_body();
  // An unsized body under maxResponseBodyBytes is read whole first, then sent with a length.
  bool collect = !upgrade && !filtered && pipeline.collects_response(resp);
  bool client_close = !ex.keep_alive || worker_.draining() ||
                      (resp.body == BodyKind::until_close && !collect && !filtered);
  if (collect)
    co_return co_await relay_collected(ex, std::move(up), resp, std::move(out), client_close,
                                       pipeline);
  if (upgrade) {  // a 101 has no body: the head, then the tunnel
    append_header(out, "Connection", "Upgrade");
    append_header(out, "Upgrade", upgrade_to);
    out.append("\r\n");
    if (!arm_write(worker_.limits().body_timeout)) co_return Outcome::close;
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
    if (ec) co_return Outcome::close;
    watchdog_.disarm();
    co_await tunnel(*up);
    co_return Outcome::close;
  }
  if (!filtered)  // sniffed: the upstream's framing goes through
    co_return co_await relay_plain(std::move(up), resp, pipeline, std::move(out), client_close);
  // A filtered body goes chunked, close-delimited to an HTTP/1.0 client.
  bool chunked = ex.chunked_ok;
  client_close = client_close || !chunked;
  if (chunked) append_header(out, "Transfer-Encoding", "chunked");
  if (client_close) append_header(out, "Connection", "close");
  out.append("\r\n");
  BodyWriter writer(*this, out, chunked);
  Relayed end = co_await relay_body(pipeline, *up, resp, writer, watchdog_);
  co_return relayed(end, reusable(resp), up, client_close);
}

// The unsized body is read whole (within maxResponseBodyBytes), then sent with a length.
template <class Stream>
awaitable<typename Http1Session<Stream>::Outcome> Http1Session<Stream>::relay_collected(
    const Exchange& ex, std::unique_ptr<UpstreamConn> up, const ResponseHead& resp, std::string out,
    bool client_close, RequestPipeline& pipeline) {
  // The head's views point into up->buf: `out` holds what is needed of them by now.
  ResponseCollector collected(resp.body, 0, ex.max_response, ex.mem_response);
  int status = co_await pipeline.collect_response(*up, collected, watchdog_);
  if (status != 0) co_return co_await send_error(status, true);
  append_header(out, "Content-Length", std::to_string(collected.body().size()));
  if (client_close) append_header(out, "Connection", "close");
  out.append("\r\n");
  BodyWriter writer(*this, out, false);
  Relayed end = co_await proxy::relay_collected(pipeline, collected.body(), writer);
  co_return relayed(end, reusable(resp), up, client_close);
}

// After a relay: a cut response closes the connection; a complete one returns `up` to the
// pool when `resp_reusable` and it holds nothing more.
template <class Stream>
typename Http1Session<Stream>::Outcome Http1Session<Stream>::relayed(
    Relayed end, bool resp_reusable, std::unique_ptr<UpstreamConn>& up, bool client_close) {
  if (end == Relayed::cut) return Outcome::close;
  watchdog_.disarm();
  if (resp_reusable && up->buf.empty()) worker_.pool().put(std::move(up));
  return client_close ? Outcome::close : Outcome::keep_alive;
}

// Upgraded connections (WebSocket, ...): bytes both ways until both sides are done; a
// half-close is passed on. The entrypoint's idleTimeout closes both when neither side sent
// anything for that long (each direction pushes the shared deadline on when bytes move).
template <class Stream>
awaitable<void> Http1Session<Stream>::tunnel(UpstreamConn& up) {
  using namespace boost::asio::experimental::awaitable_operators;
  const auto idle = info_->entry_point.idle_timeout;
  watchdog_.watch(&sock(), &up.socket());
  watchdog_.arm(idle);
  auto to_upstream = [this, &up, idle]() -> awaitable<void> {
    for (;;) {
      if (!in_.empty()) {
        auto [ec, n] = co_await up.write(asio::buffer(in_.readable()));
        if (ec) break;
        in_.consume(n);
      }
      auto [ec, n] = co_await stream_.async_read_some(in_.prepare(16384, 65536), use_tuple);
      if (ec) break;
      watchdog_.arm(idle);
      in_.commit(n);
    }
    up.shutdown_send();
  };
  auto to_client = [this, &up, idle]() -> awaitable<void> {
    for (;;) {
      if (!up.buf.empty()) {
        auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(up.buf.readable()), use_tuple);
        if (ec) break;
        up.buf.consume(n);
      }
      auto [ec, n] = co_await up.read_some(up.buf.prepare(16384, 65536));
      if (ec) break;
      watchdog_.arm(idle);
      up.buf.commit(n);
    }
    error_code ignored;
    sock().shutdown(tcp::socket::shutdown_send, ignored);
  };
  co_await (to_upstream() && to_client());
  watchdog_.disarm();
}

template class Http1Session<tcp::socket>;
template class Http1Session<TlsStream>;

}  // namespace portier::proxy
