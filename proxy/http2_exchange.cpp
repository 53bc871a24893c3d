#include "proxy/http2_exchange.hpp"

#include <array>
#include <cstring>
#include <optional>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <openssl/rand.h>

#include "core/log.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/stream_host.hpp"
#include "proxy/http2_stream.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/request_pipeline.hpp"
#include "proxy/request_target.hpp"
#include "proxy/response_collector.hpp"
#include "proxy/response_relay.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/upstream_pool.hpp"
#include "proxy/watchdog.hpp"
#include "tls/base64.hpp"

namespace portier::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// Response bytes buffered per stream before reading from the upstream pauses.
constexpr size_t kOutHigh = 65536;

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

void append(IoBuffer& out, std::string_view data) {
  if (data.empty()) return;
  auto space = out.prepare(data.size());
  std::memcpy(space.data(), data.data(), data.size());
  out.commit(data.size());
}

bool parse_length(std::string_view v, uint64_t* out) {
  if (v.empty() || v.size() > 18) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Trailer lines of a chunked body as HTTP/2 fields: lowercase names, no connection-specific
// or framing fields (RFC 9110 6.5.1).
std::vector<std::pair<std::string, std::string>> trailer_fields(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    size_t eol = raw.find("\r\n");
    std::string_view line = raw.substr(0, eol);
    raw = eol == std::string_view::npos ? std::string_view() : raw.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string name = lowercase(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (is_hop_by_hop(name, {}) || name == "content-length" || name == "host" || name.find(' ') != std::string::npos)
      continue;
    out.emplace_back(std::move(name), std::string(value));
  }
  return out;
}

class Exchange {
 public:
  Exchange(StreamHost& conn, std::shared_ptr<Http2Stream> stream)
      : conn_(conn), sp_(std::move(stream)), st_(*sp_), watchdog_(conn.executor()) {}
  ~Exchange() { st_.upstream = nullptr; }  // before up_ goes
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  awaitable<void> run();

 private:
  int fill_head();
  void respond_error(int status);
  void respond_local(const RequestPipeline& pipeline);
  awaitable<void> forward(RequestPipeline& pipeline);
  awaitable<int> attempt_exchange(RequestPipeline& pipeline, const std::string& request_head,
                                  BufferedBody& body, bool buffered, ResponseHead& resp,
                                  Attempt& attempt);
  awaitable<int> buffer_body(const RequestPipeline& pipeline, BufferedBody& body);
  awaitable<int> read_body_first(RequestPipeline& pipeline);
  awaitable<void> answer_page(RequestPipeline& pipeline, int status, bool origin);
  awaitable<int> send_body();
  awaitable<void> relay(const ResponseHead& resp, RequestPipeline& pipeline);
  class BodyWriter;
  awaitable<bool> wait_stream(Clock::duration timeout);
  awaitable<void> tunnel(const ResponseHead& resp, RequestPipeline& pipeline);
  awaitable<void> tunnel_to_upstream();
  awaitable<void> tunnel_to_client();
  const ProxyLimits& limits() { return conn_.worker().limits(); }
  // The timeout of the next wait for request DATA: the body timeout, within what is left of
  // the entrypoint's readTimeout for the whole request (from its head).
  Clock::duration idle_timeout() { return conn_.info().entry_point.idle_timeout; }
  // The timeout of the next wait for room in the response: the body timeout, within what is
  // left of the entrypoint's writeTimeout (from the request's HEADERS; Go resets the stream).
  Clock::duration write_budget() {
    return Watchdog::remaining(start_, conn_.info().entry_point.write_timeout,
                               limits().body_timeout);
  }
  bool write_late() { return write_budget() <= Clock::duration::zero(); }
  Clock::duration read_budget() {
    return Watchdog::remaining(start_, conn_.info().entry_point.read_timeout,
                               limits().body_timeout);
  }

  StreamHost& conn_;
  std::shared_ptr<Http2Stream> sp_;
  Http2Stream& st_;
  Watchdog watchdog_;
  RequestHead head_;  // views into st_.fields (stable once the head is complete) and cookies_
  std::string cookies_;
  std::string target_;  // the target after apply_target_rules, when they changed it
  std::string ws_key_;  // RFC 8441: the Sec-WebSocket-Key of the upstream Upgrade request
  bool websocket_ = false;
  std::unique_ptr<UpstreamConn> up_;
  RequestPipeline* pipeline_ = nullptr;  // run()'s: the request's errors and sizes are recorded
  uint64_t request_bytes_ = 0;
  Clock::time_point start_ = Clock::now();
};

// The BodySink of the relay: the payload is appended to st_.out, which the connection's data
// provider cuts into DATA frames as the client's flow-control windows allow. Reading from the
// upstream pauses while kOutHigh bytes wait (the client reads slower than the upstream sends).
class Exchange::BodyWriter final : public BodySink {
 public:
  explicit BodyWriter(Exchange& ex) : ex_(ex) {}
  IoBuffer& payload() override { return ex_.st_.out; }
  Watchdog::Clock::duration upstream_wait() override { return ex_.write_budget(); }

  Flow push(bool last, std::string_view trailers) override {
    Http2Stream& st = ex_.st_;
    if (st.closed) return Flow::stop;
    if (last) {
      if (!trailers.empty()) st.trailers = trailer_fields(trailers);
      st.out_eof = true;
    }
    if (!st.out.empty() || last) ex_.conn_.resume(st);
    return !last && st.out.size() >= kOutHigh ? Flow::drain : Flow::go;
  }
  // False when the stream closed, or no room came within the write budget (the caller
  // resets the stream).
  awaitable<bool> drain() override {
    Http2Stream& st = ex_.st_;
    while (st.out.size() >= kOutHigh) {
      bool woken = co_await ex_.wait_stream(ex_.write_budget());
      if (!woken || st.closed) co_return false;
    }
    co_return true;
  }

 private:
  Exchange& ex_;
};

// The pipeline decides; this codec feeds it the stream's head and body and writes what it
// produced as HTTP/2 frames.
awaitable<void> Exchange::run() {
  if (st_.closed) co_return;
  if (int status = fill_head(); status != 0) {
    respond_error(status);
    co_return;
  }
  RequestPipeline pipeline(conn_.worker(), conn_.info(), conn_.client(), conn_.http_version());
  pipeline_ = &pipeline;
  using Step = RequestPipeline::Step;
  auto step = pipeline.start(head_);
  while (step == Step::async || step == Step::body) {
    if (step == Step::body) {
      int status = co_await read_body_first(pipeline);
      if (status != 0) {
        if (status > 0) respond_error(status);
        co_return;
      }
    }
    step = co_await pipeline.resume(head_);
    if (st_.closed) co_return;
  }
  if (st_.closed) co_return;
  if (step == Step::reply) {
    respond_local(pipeline);
    co_return;
  }
  co_await forward(pipeline);
}

// Fills head_ from the pseudo-headers and fields. 0, or the status of the error response.
int Exchange::fill_head() {
  std::string_view method, authority, path, host_header, content_length, protocol;
  head_.headers.reserve(st_.fields.size());
  for (const auto& [name, value] : st_.fields) {
    if (!name.empty() && name[0] == ':') {
      if (name == ":method")
        method = value;
      else if (name == ":authority")
        authority = value;
      else if (name == ":path")
        path = value;
      else if (name == ":protocol")
        protocol = value;
      continue;
    }
    if (name == "cookie") {  // RFC 9113 8.2.3: split crumbs are joined for HTTP/1.1
      if (!cookies_.empty()) cookies_ += "; ";
      cookies_ += value;
      continue;
    }
    if (name == "host") host_header = value;
    if (name == "content-length") content_length = value;
    if (name == "expect" && iequals(value, "100-continue")) head_.expect_continue = true;
    head_.headers.push_back(HeaderField{name, value});
  }
  if (!cookies_.empty()) head_.headers.push_back(HeaderField{"cookie", cookies_});
  if (st_.headers_too_large) return 431;
  if (method == "CONNECT") {
    // RFC 8441 extended CONNECT for WebSocket: an HTTP/1.1 Upgrade request upstream.
    if (!iequals(protocol, "websocket")) return 501;
    websocket_ = true;
    unsigned char nonce[16];
    RAND_bytes(nonce, sizeof nonce);
    ws_key_ = tls::base64_encode(std::string_view(reinterpret_cast<char*>(nonce), sizeof nonce));
    method = "GET";
    head_.upgrade = true;
    head_.headers.push_back(HeaderField{"upgrade", "websocket"});
    head_.headers.push_back(HeaderField{"sec-websocket-key", ws_key_});
    if (find_header(head_.headers, "sec-websocket-version").empty())
      head_.headers.push_back(HeaderField{"sec-websocket-version", "13"});
  }
  if (method.empty() || path.empty()) return 400;
  head_.method = method;
  head_.target = path;
  size_t q = path.find('?');
  head_.path = path.substr(0, q);
  head_.query = q == std::string_view::npos ? std::string_view() : path.substr(q + 1);
  head_.host = authority.empty() ? host_header : authority;
  if (head_.host.empty()) return 400;
  const config::EntryPoint& ep = conn_.info().entry_point;
  if (!apply_target_rules(head_, {ep.sanitize_path, ep.encode_query_semicolons}, target_)) return 400;
  uint64_t length = 0;
  bool has_length = !content_length.empty();
  if (has_length && !parse_length(content_length, &length)) return 400;
  // Upstream framing: the client's Content-Length, else the whole body when it has
  // already arrived, else chunked.
  if (websocket_) {
    head_.body = BodyKind::none;  // the stream's DATA is the tunnel, sent after the 101
  } else if (has_length) {
    head_.body = BodyKind::length;
    head_.content_length = length;
  } else if (st_.end_at_headers || (st_.request_end && st_.body.empty())) {
    head_.body = BodyKind::none;
  } else if (st_.request_end) {
    head_.body = BodyKind::length;
    head_.content_length = st_.body.size();
  } else {
    head_.body = BodyKind::chunked;
  }
  return 0;
}

void Exchange::respond_error(int status) {
  if (st_.closed) return;
  if (pipeline_) pipeline_->note_error(status);
  if (st_.responded) {
    conn_.reset(st_, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  std::string body = error_body(status);
  std::string code = std::to_string(status);
  std::string length = std::to_string(body.size());
  st_.out.consume(st_.out.size());
  append(st_.out, body);
  st_.out_eof = true;
  std::vector<nghttp2_nv> nva{make_nv(":status", code),
                              make_nv("content-type", "text/plain; charset=utf-8"),
                              make_nv("content-length", length)};
  conn_.submit_response(st_, nva, true);
}

void Exchange::respond_local(const RequestPipeline& pipeline) {
  if (st_.closed) return;
  const LocalReply& reply = pipeline.local();
  std::string code = std::to_string(reply.status);
  std::string length = std::to_string(reply.body.size());
  std::vector<std::string> names;  // the nvs point into them: reserved, never reallocated
  names.reserve(pipeline.local_header_bound());
  std::vector<nghttp2_nv> nva{make_nv(":status", code)};
  pipeline.local_headers([&](std::string_view name, std::string_view value) {
    names.push_back(lowercase(name));
    nva.push_back(make_nv(names.back(), value));
  });
  nva.push_back(make_nv("content-length", length));
  st_.out.consume(st_.out.size());
  append(st_.out, reply.body);
  st_.out_eof = true;
  conn_.submit_response(st_, nva, !reply.body.empty());  // nghttp2 copies the fields
}

// Reads the body first when the pipeline wants it whole (its framing upstream is then a
// Content-Length), sends the request and relays the response. An attempt that fails before a
// response head, or whose response the retry middleware discards, is reported to the pipeline,
// which decides whether another is made (a dead pooled connection once on a fresh one, then
// the retry middleware on the next server).
awaitable<void> Exchange::forward(RequestPipeline& pipeline) {
  Worker& worker = conn_.worker();
  bool buffered = pipeline.body_read() || pipeline.buffer_request(head_);
  BufferedBody& body = pipeline.request_body();
  if (buffered && !pipeline.body_read()) {
    int status = co_await read_body_first(pipeline);
    if (status != 0) {
      if (status > 0) respond_error(status);
      co_return;
    }
  }
  std::string request_head = pipeline.upstream_head(head_);
  bool replayable = RequestPipeline::replayable(head_, buffered);
  int failed = 502;
  for (bool fresh = false;;) {
    Attempt attempt;
    up_ = fresh ? nullptr : worker.pool().take(pipeline.server().pool_key, replayable);
    if (up_) {
      st_.upstream = &up_->socket();
      watchdog_.watch(&up_->socket());
    } else {
      up_ = co_await pipeline.connect(watchdog_, nullptr, &st_.upstream);
      if (st_.closed) co_return;
    }
    if (up_) {
      attempt.reused = up_->reused;
      ResponseHead resp;
      failed = co_await attempt_exchange(pipeline, request_head, body, buffered, resp, attempt);
      if (failed < 0 || st_.closed) co_return;
      if (failed == 0 && !pipeline.retries_status(resp.status, replayable)) {
        if (pipeline.replaces(resp.status)) {  // an error page instead (the response dropped)
          st_.upstream = nullptr;
          up_.reset();
          co_await answer_page(pipeline, resp.status, true);
          co_return;
        }
        if (websocket_ && resp.status == 101)
          co_await tunnel(resp, pipeline);
        else
          co_await relay(resp, pipeline);
        co_return;
      }
      if (failed == 0) failed = 502;  // discarded: the next attempt answers
      st_.upstream = nullptr;
      up_.reset();
    }
    fresh = attempt.reused && !attempt.received;
    if (!co_await pipeline.retry(attempt, replayable)) break;
    if (st_.closed) co_return;
  }
  if (pipeline.replaces(failed))
    co_await answer_page(pipeline, failed, false);
  else
    respond_error(failed);
}

// The error page that replaces an answer with `status` (RequestPipeline::replace_answer).
awaitable<void> Exchange::answer_page(RequestPipeline& pipeline, int status, bool origin) {
  co_await pipeline.replace_answer(status, origin);
  if (!st_.closed) respond_local(pipeline);
}

// The whole body into the pipeline's request_body() (a middleware's Step::body, or buffering
// before forwarding); its framing upstream is then a Content-Length. 0, -1 when the stream is
// gone, else the status to answer.
awaitable<int> Exchange::read_body_first(RequestPipeline& pipeline) {
  if (head_.expect_continue) conn_.submit_continue(st_);
  BufferedBody& body = pipeline.request_body();
  int status = co_await buffer_body(pipeline, body);
  pipeline.note_request_body(body.size());
  if (status != 0) co_return status;
  head_.body = BodyKind::length;
  head_.content_length = body.size();
  co_return 0;
}

// One attempt on up_: the head, the body, the response head into `resp`. 0 when it came, else
// the status to answer (502, 504), or -1 when the stream is gone or was answered already.
awaitable<int> Exchange::attempt_exchange(RequestPipeline& pipeline, const std::string& request_head,
                                          BufferedBody& body, bool buffered, ResponseHead& resp,
                                          Attempt& attempt) {
  watchdog_.arm(limits().body_timeout);
  auto [ec, n] = co_await up_->write(asio::buffer(request_head));
  if (st_.closed) co_return -1;
  if (ec) co_return 502;
  attempt.written = true;
  if (buffered) {
    bool sent = co_await pipeline.send_buffered(body, *up_, watchdog_);
    if (st_.closed) co_return -1;
    if (!sent) co_return 502;
  } else if (head_.body != BodyKind::none) {
    if (head_.expect_continue) conn_.submit_continue(st_);
    int status = co_await send_body();
    if (status != 0) {
      if (status > 0) respond_error(status);
      co_return -1;
    }
  }
  bool silent = false;
  int status = co_await pipeline.read_response_head(*up_, head_.method == "HEAD", resp, watchdog_, &silent);
  if (st_.closed) co_return -1;
  attempt.received = !silent;
  attempt.responded = status == 0;
  attempt.status = resp.status;
  co_return status;
}

// Moves the stream's DATA into `body` as it arrives (reopening the windows), within
// maxRequestBodyBytes. 0 at END_STREAM, -1 when the stream is gone, else the status to answer.
awaitable<int> Exchange::buffer_body(const RequestPipeline& pipeline, BufferedBody& body) {
  const BodyLimits& body_limits = pipeline.limits();
  for (;;) {
    if (st_.closed) co_return -1;
    if (!st_.body.empty()) {
      std::string_view data = st_.body.readable();
      size_t n = data.size();
      if (int refused = pipeline.check_body(body.size() + n)) co_return refused;
      if (!body.append(data, body_limits.mem_request)) co_return 500;
      st_.body.consume(n);
      conn_.consume(st_, n);
      continue;
    }
    if (st_.request_end) co_return 0;
    if (!co_await wait_stream(read_budget())) co_return 408;
  }
}

// Hands the request body upstream as DATA arrives, reopening the client's windows only for
// what the upstream took. 0 when done, -1 when the stream is gone, else an error status.
awaitable<int> Exchange::send_body() {
  bool chunked = head_.body == BodyKind::chunked;
  IoBuffer sending;  // the callbacks append to st_.body while a write is in flight
  for (;;) {
    if (st_.closed) co_return -1;
    if (!st_.body.empty()) {
      std::swap(sending, st_.body);
      std::string_view data = sending.readable();
      char size_line[24];
      int size_len =
          chunked ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size()) : 0;
      std::array<asio::const_buffer, 3> bufs{asio::buffer(size_line, static_cast<size_t>(size_len)),
                                             asio::buffer(data.data(), data.size()),
                                             asio::buffer("\r\n", chunked ? 2 : 0)};
      watchdog_.arm(limits().body_timeout);
      auto [ec, n] = co_await up_->write(bufs);
      size_t taken = data.size();
      sending.consume(taken);
      conn_.consume(st_, taken);
      request_bytes_ += taken;
      if (st_.closed) co_return -1;
      if (ec) co_return watchdog_.expired() ? 504 : 502;
      continue;
    }
    if (st_.request_end) {
      if (pipeline_) pipeline_->note_request_body(request_bytes_);
      if (!chunked) co_return 0;
      watchdog_.arm(limits().body_timeout);
      auto [ec, n] =
          co_await up_->write(asio::buffer("0\r\n\r\n", 5));
      if (st_.closed) co_return -1;
      co_return ec ? 502 : 0;
    }
    if (!co_await wait_stream(read_budget())) co_return 408;
  }
}

// Submits the response head; the body goes through the pipeline's relay (relay_body(),
// relay_collected()) into a BodyWriter.
awaitable<void> Exchange::relay(const ResponseHead& resp, RequestPipeline& pipeline) {
  const BodyLimits& body = pipeline.limits();
  if (resp.status < 200) {  // 101: no upgrades over HTTP/2
    respond_error(502);
    co_return;
  }
  if (int refused = pipeline.refuse_response(resp)) {
    respond_error(refused);
    co_return;
  }
  // An unsized body under maxResponseBodyBytes is read whole first, then sent with a length.
  // The response-head phase runs first; a collected body's fields are copied (the head's
  // views die with the buffer as the body is collected).
  size_t fields = pipeline.response_header_bound(resp);
  bool filtered = pipeline.filters_body();
  bool collect_body = !filtered && pipeline.collects_response(resp);
  bool sniff = pipeline.sniffs(resp);
  // The head's views die once up_->buf is read into (collecting, sniffing): values are copied.
  bool copy_values = collect_body || sniff;
  std::string code = std::to_string(resp.status);
  std::vector<std::string> owned;  // the nvs point into them: reserved, never reallocated
  owned.reserve(copy_values ? 2 * fields : fields);
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields + 3);
  nva.push_back(make_nv(":status", code));
  pipeline.response_headers(resp, [&](std::string_view name, std::string_view value) {
    owned.push_back(lowercase(name));
    std::string_view lower = owned.back();
    if (copy_values) {
      owned.emplace_back(value);
      value = owned.back();
    }
    nva.push_back(make_nv(lower, value));
  });
  up_->buf.consume(resp.head_size);
  if (sniff) {
    std::string_view type = co_await pipeline.sniff_content_type(*up_, resp, watchdog_);
    if (st_.closed) co_return;
    if (!type.empty()) nva.push_back(make_nv("content-type", type));
  }
  std::optional<ResponseCollector> collected;
  std::string length_text;
  if (collect_body) {
    collected.emplace(resp.body, 0, body.max_response, body.mem_response);
    int status = co_await pipeline.collect_response(*up_, *collected, watchdog_);
    if (st_.closed) co_return;
    if (status != 0) {
      respond_error(status);
      co_return;
    }
    length_text = std::to_string(collected->body().size());
  }
  if (collected) nva.push_back(make_nv("content-length", length_text));
  // A filter may make a body of none (grpcWeb's trailer frame).
  bool has_body = collected ? collected->body().size() > 0 : resp.body != BodyKind::none || filtered;
  if (write_late()) {  // writeTimeout passed while the upstream answered
    conn_.reset(st_, NGHTTP2_INTERNAL_ERROR);
    co_return;
  }
  if (!conn_.submit_response(st_, nva, has_body)) co_return;
  BodyWriter writer(*this);
  Relayed end = Relayed::cut;
  if (collected) {
    watchdog_.disarm();
    end = co_await relay_collected(pipeline, collected->body(), writer);
  } else {
    end = co_await relay_body(pipeline, *up_, resp, writer, watchdog_);
  }
  if (end == Relayed::cut) {  // the client must not see an end (a no-op once it is closed)
    conn_.reset(st_, NGHTTP2_INTERNAL_ERROR);
    co_return;
  }
  watchdog_.disarm();
  if (reusable(resp) && up_->buf.empty()) {
    st_.upstream = nullptr;
    conn_.worker().pool().put(std::move(up_));
  }
}

// RFC 8441: the upstream switched protocols; the stream answers 200 and then carries the
// WebSocket bytes both ways (flow control as for bodies) until both directions ended.
awaitable<void> Exchange::tunnel(const ResponseHead& resp, RequestPipeline& pipeline) {
  using namespace boost::asio::experimental::awaitable_operators;
  size_t fields = pipeline.response_header_bound(resp);
  std::vector<std::string> names;  // the nvs point into them: reserved, never reallocated
  names.reserve(fields);
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields + 1);
  nva.push_back(make_nv(":status", "200"));
  pipeline.response_headers(resp, [&](std::string_view name, std::string_view value) {
    if (iequals(name, "sec-websocket-accept") || iequals(name, "content-length")) return;
    names.push_back(lowercase(name));
    nva.push_back(make_nv(names.back(), value));
  });
  if (!conn_.submit_response(st_, nva, true)) co_return;  // nghttp2 copies the fields
  up_->buf.consume(resp.head_size);
  // The entrypoint's idleTimeout ends the tunnel when neither side sent anything for that
  // long: each direction pushes the deadline on when bytes move; expiry cancels the upstream
  // socket (tunnel_to_client resets the stream) and tunnel_to_upstream checks it when its
  // wait for DATA times out.
  watchdog_.watch(&up_->socket());
  watchdog_.arm(idle_timeout());
  co_await (tunnel_to_upstream() && tunnel_to_client());
  watchdog_.disarm();
}

awaitable<void> Exchange::tunnel_to_upstream() {
  IoBuffer sending;
  for (;;) {
    if (st_.closed) co_return;
    if (!st_.body.empty()) {
      std::swap(sending, st_.body);
      std::string_view data = sending.readable();
      watchdog_.arm(idle_timeout());
      auto [ec, n] = co_await up_->write(asio::buffer(data.data(), data.size()));
      size_t taken = data.size();
      sending.consume(taken);
      conn_.consume(st_, taken);
      if (st_.closed) co_return;
      if (ec) {
        conn_.reset(st_, NGHTTP2_CONNECT_ERROR);
        co_return;
      }
      continue;
    }
    if (st_.request_end) {  // the client's END_STREAM: half-close towards the upstream
      up_->shutdown_send();
      co_return;
    }
    st_.event.expires_after(idle_timeout());
    auto [ec] = co_await st_.event.async_wait(use_tuple);
    if (ec != asio::error::operation_aborted && watchdog_.expired()) {
      conn_.reset(st_, NGHTTP2_CONNECT_ERROR);
      co_return;
    }
  }
}

awaitable<void> Exchange::tunnel_to_client() {
  for (;;) {
    if (st_.closed) co_return;
    if (!up_->buf.empty()) {
      append(st_.out, up_->buf.readable());
      up_->buf.consume(up_->buf.size());
      conn_.resume(st_);
    }
    if (st_.out.size() >= kOutHigh) {  // the client reads slower than the upstream sends
      st_.out_event.expires_after(std::chrono::hours(24));
      co_await st_.out_event.async_wait(use_tuple);
      continue;
    }
    auto [ec, n] = co_await up_->read_some(up_->buf.prepare(16384, 65536));
    if (st_.closed) co_return;
    if (ec == asio::error::eof) {  // the upstream is done sending: END_STREAM
      st_.out_eof = true;
      conn_.resume(st_);
      co_return;
    }
    if (ec) {
      conn_.reset(st_, NGHTTP2_CONNECT_ERROR);
      co_return;
    }
    watchdog_.arm(idle_timeout());
    up_->buf.commit(n);
  }
}

// Waits for news on the stream (DATA, END_STREAM, room in st_.out, close). False on timeout.
awaitable<bool> Exchange::wait_stream(Clock::duration timeout) {
  st_.event.expires_after(timeout);
  auto [ec] = co_await st_.event.async_wait(use_tuple);
  co_return ec == asio::error::operation_aborted;
}

}  // namespace

awaitable<void> run_http2_exchange(StreamHost& conn, std::shared_ptr<Http2Stream> stream) {
  Exchange exchange(conn, std::move(stream));
  co_await exchange.run();
}

}  // namespace portier::proxy
