#pragma once
// The proxy half of one request, shared by the two codecs (Http1Session for HTTP/1.1 over
// TCP or TLS, the HTTP/2 stream exchange for h2 over TLS and h2c). A codec parses request
// heads and bodies and writes responses; everything between is decided here, once, so a
// behaviour holds on every protocol:
//   start()            the HTTP-01 challenge answer (httpChallenge entrypoint), routing on
//                      the pinned snapshot, http.redirections, the 421 check (a
//                      host whose tls.options differ from the handshake's), the request
//                      phases of the entrypoint's middlewares, then the router's, 413 by
//                      Content-Length, server choice (WRR, health, sticky cookie)
//   check_body()       413 on the decoded size of a buffered (streamed, chunked) body
//   upstream_head()    the HTTP/1.1 head sent upstream (path and header edits, X-Forwarded-*)
//   replayable(), connect(), send_buffered(), read_response_head()
//                      connection to the server and the retry of replayable requests
//   refuse_response(), collects_response(), collect_response()
//                      maxResponseBodyBytes (500), unsized bodies read whole first
//   response_headers() / local_headers()
//                      the response-head phase: relayed headers, middleware edits, cookie
//   filters_body(), take_trailers(), filter_body()
//                      the response-body phase (compress, grpcWeb): the payload through the
//                      filters, the upstream's trailers offered to them
//   replaces(), replace_answer()
//                      the error-page phase (errors): an answer replaced by a fetched page
//   relay_body(), relay_framed(), relay_collected() (proxy/response_relay.hpp)
//                      the response body: the upstream read loop, limits, filters, trailers
// The codec keeps the wire: framing, flow control, keep-alive, 100-continue, writing the bytes
// the relay hands its BodySink.
//
// Contract: one RequestPipeline per request, on the stack (coroutine frame) of the codec's
// exchange, worker thread only. It holds the request body when it is read whole
// (request_body(): buffering, retry, mirroring, a middleware's Step::body). It pins the
// snapshot for the request's life; `listener` and `client` (with its connection's TLS session)
// outlive it. The synchronous path costs no allocation beyond the
// snapshot pin and the upstream head; a middleware with an asynchronous request phase
// (basicAuth, rateLimit) makes start() return Step::async and the codec co_awaits resume()
// (see Middleware in middleware.hpp for the phases). Holds a middleware took for the request
// (RequestEdits::holds, inFlightReq's slot) are released when the pipeline is destroyed.
//
// Observation: the pipeline records the request for the access log and the metrics
// (RequestObservation) and hands the record over when it is destroyed, i.e. when the codec is
// done with the request. A codec tells it what only the codec knows: note_error() when it
// answers an error itself after start(), and the body sizes it relayed.
#include <memory>
#include <string>

#include "config/internal_services.hpp"
#include "proxy/asio.hpp"
#include "proxy/buffered_body.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/middleware.hpp"
#include "proxy/request_mirror.hpp"
#include "proxy/request_observation.hpp"
#include "proxy/response_collector.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/upstream_conn.hpp"
#include "proxy/watchdog.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

class RequestPipeline {
 public:
  // `client`: the connection's, TLS facts included (the 421 check reads its tls_policy).
  // `http_version`: 20 on HTTP/2, 30 on HTTP/3; 0 takes HTTP/1.0 or 1.1 from the head.
  RequestPipeline(Worker& worker, const ListenerInfo& listener, const ClientInfo& client,
                  int http_version = 0)
      : worker_(worker), listener_(listener), client_(client),
        observation_(worker.observer(), listener, client, http_version) {}
  ~RequestPipeline();
  RequestPipeline(const RequestPipeline&) = delete;
  RequestPipeline& operator=(const RequestPipeline&) = delete;

  // forward: send the request upstream (server() is set). reply: answer local() instead (the
  // request body is not read, or was read whole). async: co_await resume() before either.
  // body: read the body whole into request_body() (check_body() applies), then resume().
  enum class Step { forward, reply, async, body };

  // The request phase. `head`'s views must stay valid until upstream_head() ran.
  Step start(const RequestHead& head);
  // Runs the pending asynchronous middleware phase, then the rest of start().
  awaitable<Step> resume(const RequestHead& head);

  // ---- error pages (errors middleware) ----
  // Whether an answer with `status` made inside the chain is replaced by an error page: the
  // codec then drops the upstream's response (or its own error), co_awaits replace_answer()
  // and sends local() as a Step::reply. `origin`: the status is the server's response's (else
  // the codec's own 502/504). Local replies of the chain are replaced before Step::reply.
  bool replaces(int status) const;
  awaitable<void> replace_answer(int status, bool origin);

  // ---- Step::reply ----
  const LocalReply& local() const { return local_; }
  // The reply's header fields (the reply's own, the edits of the middlewares that ran before
  // the one replying), without framing: sink(name, value).
  template <class Sink>
  void local_headers(Sink&& sink) const {
    auto out = observed(sink);
    for (const auto& [name, value] : local_.headers)
      if (!response_edits_.drops(name, value)) out(std::string_view(name), std::string_view(value));
    for (const auto& [name, value] : response_edits_.set)
      out(std::string_view(name), std::string_view(value));
    for (const auto& [name, value] : response_edits_.add)
      out(std::string_view(name), std::string_view(value));
    if (!listener_.alt_svc.empty()) out(std::string_view("Alt-Svc"), std::string_view(listener_.alt_svc));
  }

  // ---- Step::body, Step::forward ----
  // The body read whole (Step::body, or buffer_request()), where the codec reads it.
  BufferedBody& request_body() { return body_; }
  // Whether the body was read whole already (Step::body): the codec forwards request_body().
  bool body_read() const { return body_read_; }

  // ---- Step::forward ----
  const UpstreamServer& server() const { return *server_; }
  const BodyLimits& limits() const { return *limits_; }
  // Whether the codec reads the body whole before forwarding: the buffering middleware, a
  // mirroring service that copies the body, or a retry that may send it again (a body with a
  // length within its maxRequestBodyBytes). False when body_read() (it is read already).
  bool buffer_request(const RequestHead& head) const {
    if (head.body == BodyKind::none || body_read_) return false;
    if (limits_->buffer_request || (mirror_ && mirror_->wants_body())) return true;
    for (const auto& guard : guards_) {
      int64_t replay = guard->replay_body_bytes();
      if (head.body == BodyKind::length && replay != 0 &&
          (replay < 0 || head.content_length <= static_cast<uint64_t>(replay)))
        return true;
    }
    return false;
  }
  // After `decoded` bytes of a buffered body: 0, or 413 over maxRequestBodyBytes (or what the
  // middleware reading it for Step::body answers over its own limit). Tells the mirror copies
  // the size (their maxBodySize).
  int check_body(uint64_t decoded) const {
    if (mirror_) mirror_->note_body_size(decoded);
    if (body_first_.max >= 0 && decoded > static_cast<uint64_t>(body_first_.max))
      return body_first_.status;
    int64_t max = limits_->max_request;
    return max > 0 && decoded > static_cast<uint64_t>(max) ? 413 : 0;
  }
  // The upstream request head for `head` (whose body framing the codec has set).
  std::string upstream_head(const RequestHead& head) const;
  // Whether the request can be sent again whole: no body, or a buffered one.
  static bool replayable(const RequestHead& head, bool buffered) {
    return head.body == BodyKind::none || buffered;
  }
  // Attempts. A response head with `status` that the retry middleware discards for another
  // attempt (the codec drops it and the connection, then calls retry()).
  bool retries_status(int status, bool replayable) const {
    for (const auto& guard : guards_)
      if (guard->retries_status(status, replayable)) return true;
    return false;
  }
  // After an attempt that failed or was discarded: whether the codec makes another. A pooled
  // connection that died before answering is retried once on a fresh connection (the codec
  // dials when the last attempt was `reused` and got no response); then the exchange phase's
  // guard (retry) decides, its backoff is waited here and server() moves to the next server
  // of the service (sticky cookies are not consulted again).
  awaitable<bool> retry(const Attempt& attempt, bool replayable);
  // Dials server(): the connection, or null (logged). The watchdog bounds the dial; the dial
  // socket is published through *exposed meanwhile (an HTTP/2 stream reset cancels it).
  awaitable<std::unique_ptr<UpstreamConn>> connect(Watchdog& watchdog, tcp::socket* client,
                                                   tcp::socket** exposed = nullptr) const;
  // Writes a buffered body to `up`. False when the write or the temp file failed.
  awaitable<bool> send_buffered(BufferedBody& body, UpstreamConn& up, Watchdog& watchdog) const;
  // Reads the final response head into `resp` (interim 1xx other than 101 are dropped): 0, or
  // the status to answer (502; 504 when the watchdog expired). *silent: the upstream closed
  // or failed before sending a byte (a dead pooled connection: retry a replayable request).
  awaitable<int> read_response_head(UpstreamConn& up, bool head_request, ResponseHead& resp,
                                    Watchdog& watchdog, bool* silent) const;

  // ---- response limits (buffering.maxResponseBodyBytes, as Traefik) ----
  // 0, or 500 when the announced length is over the limit.
  int refuse_response(const ResponseHead& resp) const {
    int64_t max = limits_->max_response;
    return max > 0 && resp.body == BodyKind::length &&
                   resp.content_length > static_cast<uint64_t>(max)
               ? 500
               : 0;
  }
  // Whether an unsized body (chunked, close-delimited) is read whole first, then sent with a
  // length (a limit applies; never for an upgrade).
  bool collects_response(const ResponseHead& resp) const {
    return limits_->max_response > 0 &&
           (resp.body == BodyKind::chunked || resp.body == BodyKind::until_close);
  }
  // Reads the rest of the body (after the head, consumed) into `collector`: 0, or the status to
  // answer (500 over the limit, 502/504 when the upstream fails).
  awaitable<int> collect_response(UpstreamConn& up, ResponseCollector& collector,
                                  Watchdog& watchdog) const;

  // At most how many fields response_headers(resp) / local_headers() pass to the sink (the
  // response-head phase runs first, once): for a codec that keeps them where they must not
  // move (HTTP/2 name/value pairs) and reserves the room up front.
  size_t response_header_bound(const ResponseHead& resp) {
    run_response_phase(resp);
    return resp.headers.size() + response_edits_.set.size() + response_edits_.add.size() + 2;
  }
  size_t local_header_bound() const {
    return local_.headers.size() + response_edits_.set.size() + response_edits_.add.size() + 1;
  }

  // The response-head phase: the end-to-end headers of `resp` to relay (hop-by-hop and those
  // a middleware replaces dropped), the middlewares' edits, the sticky cookie; no framing.
  template <class Sink>
  void response_headers(const ResponseHead& resp, Sink&& raw_sink) {
    observation_.origin_head(resp.status);
    auto sink = observed(raw_sink);
    run_response_phase(resp);
    tell_guards(resp.status);
    for (const auto& h : resp.headers) {
      if (is_hop_by_hop(h.name, resp.connection) || response_edits_.drops(h.name, h.value)) continue;
      sink(h.name, h.value);
    }
    for (const auto& [name, value] : response_edits_.set)
      sink(std::string_view(name), std::string_view(value));
    for (const auto& [name, value] : response_edits_.add)
      sink(std::string_view(name), std::string_view(value));
    if (!set_cookie_.empty()) sink(std::string_view("Set-Cookie"), std::string_view(set_cookie_));
    if (!listener_.alt_svc.empty()) sink(std::string_view("Alt-Svc"), std::string_view(listener_.alt_svc));
  }
  const HeaderEdits& response_edits() const { return response_edits_; }

  // ---- the response-body phase (after response_headers()) ----
  // Whether a filter transforms this response's body: the relay (relay_body()) then decodes
  // the upstream's framing, passes the payload through filter_body() and the codec sends the
  // output unsized (the filters' header edits dropped Content-Length). Never for an upgrade.
  bool filters_body() const { return !filters_.empty(); }
  // Once the upstream's body is done, before the last filter_body(): its trailer section
  // (BodyDecoder::trailers(), "" when none). True when a filter took them into the body: the
  // relay does not hand them to the codec.
  bool take_trailers(std::string_view raw);
  // Appends what `in` becomes to `out`; `last` ends the body. False: a filter failed.
  bool filter_body(std::string_view in, bool last, IoBuffer& out);

  // ---- contentType ----
  // Whether `resp` gets a detected Content-Type: a contentType middleware ran, the response
  // has no Content-Type field (an empty one counts as one) and may have a body.
  bool sniffs(const ResponseHead& resp) const;
  // Once the head is consumed from up.buf (its views are not used afterwards: this reads into
  // up.buf): reads until the first payload bytes are at hand or the body ends, and returns the
  // type Go's DetectContentType gives them; "" when the body is empty (no field, as in Go).
  // The bytes stay in up.buf for the relay.
  awaitable<std::string_view> sniff_content_type(UpstreamConn& up, const ResponseHead& resp,
                                                 Watchdog& watchdog) const;

  // ---- what the codec tells the observation ----
  void note_error(int status) const {
    observation_.error(status);
    tell_guards(status);
  }
  void note_request_body(uint64_t bytes) const { observation_.request_body(bytes); }
  void note_response_body(uint64_t bytes) const { observation_.response_body(bytes); }
  const std::string& set_cookie() const { return set_cookie_; }

 private:
  // The sink, and the access log's copy of the fields it keeps when it keeps some.
  template <class Sink>
  auto observed(Sink& sink) const {
    return [this, &sink](std::string_view name, std::string_view value) {
      if (observation_.wants_response_headers()) observation_.response_header(name, value);
      sink(name, value);
    };
  }
  Step route(const RequestHead& head);
  bool internal_endpoint(const RequestHead& head);
  Step answer_acme_http(const RequestHead& head);
  void answer_internal(config::InternalService service, const RequestHead& head);
  Step refuse(int status);
  Step run_chain(const RequestHead& head);
  Step choose_server(const RequestHead& head);
  void tell_guards(int status) const;
  bool wants_body(const Middleware& mw, const RequestHead& head);
  bool rewrite_body(const Middleware& mw, const RequestHead& head);
  bool serves(const UpstreamServer& server) const;
  Step replied();
  awaitable<void> fetch_pages(int status);
  void plan_phases(const Middleware& mw, const RequestHead& head);
  void run_response_phase(const ResponseHead& resp);
  bool misdirected(const std::string& host) const;
  void redirect_entry_point(const RequestHead& head);

  Worker& worker_;
  const ListenerInfo& listener_;
  const ClientInfo& client_;
  std::shared_ptr<const RuntimeConfig> rc_;  // pinned for the request
  const RouteRuntime* route_ = nullptr;
  const std::vector<MiddlewarePtr>* chain_ =
      nullptr;  // the entrypoint's middlewares, then the router's
  const BodyLimits* limits_ = nullptr;
  const UpstreamServer* server_ = nullptr;
  const ServiceRuntime* service_ = nullptr;  // the load balancer server_ belongs to
  // Copies for a mirroring service's mirrors, sent when the pipeline ends (null: none).
  std::unique_ptr<RequestMirror> mirror_;
  size_t next_ = 0;  // the next middleware of the chain to run
  bool response_phase_pending_ = false;  // a middleware of the chain has one, not run yet
  bool sniff_ = false;                   // a contentType middleware ran
  RequestEdits edits_;
  HeaderEdits response_edits_;
  LocalReply local_;
  // The response-body phase: planned at request time in chain order; after the response head,
  // those that transform this body, innermost first.
  std::vector<std::unique_ptr<ResponseFilter>> filters_;
  // The exchange phase (retry, circuitBreaker): the guards, in chain order.
  std::vector<std::unique_ptr<ExchangeGuard>> guards_;
  // The error_page phase (errors), in chain order; page_pending_: replied() left local_ to
  // be replaced by resume().
  std::vector<std::unique_ptr<ErrorPage>> pages_;
  bool page_pending_ = false;
  std::chrono::steady_clock::time_point first_attempt_{};
  mutable bool guards_told_ = false;  // ExchangeGuard::finished was called
  bool fresh_retry_used_ = false;  // the once-only retry of a dead pooled connection
  std::string set_cookie_;
  BufferedBody body_;
  bool body_read_ = false;
  bool body_pending_ = false;  // Step::body was returned; resume() follows the read
  bool rewrite_pending_ = false;  // ... for the request-rewrite phase of chain_[next_]
  bool body_rewritten_ = false;   // body_ holds a rewritten payload: sent with its length
  BodyFirst body_first_{-1, 0};  // while Step::body reads for a middleware: its limit
  mutable RequestObservation observation_;
};

}  // namespace portier::proxy
