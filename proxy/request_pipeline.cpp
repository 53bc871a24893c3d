#include "proxy/request_pipeline.hpp"

#include <algorithm>
#include <vector>

#include "proxy/body_decoder.hpp"
#include "proxy/content_sniff.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/observability.hpp"
#include "proxy/service_choice.hpp"
#include "proxy/tls_context.hpp"

namespace portier::proxy {
namespace {

// What the middlewares see of the request (the path after earlier edits).
RequestContext context(const RequestHead& head, const RequestEdits& edits, const ClientInfo& client) {
  return RequestContext{head, edits.path ? std::string_view(*edits.path) : head.path, client.tls,
                        client.ip, client.trusted, client.ssl};
}

}  // namespace

RequestPipeline::Step RequestPipeline::start(const RequestHead& head) {
  observation_.begin(head);
  Step step = route(head);
  return step == Step::reply ? replied() : step;
}

// local_ is the answer: Step::async when an error page replaces it (resume() fetches it).
RequestPipeline::Step RequestPipeline::replied() {
  if (replaces(local_.status)) {
    page_pending_ = true;
    return Step::async;
  }
  observation_.local(local_.status, local_.body.size());
  return Step::reply;
}

bool RequestPipeline::replaces(int status) const {
  for (const auto& page : pages_)
    if (page->catches(status)) return true;
  return false;
}

awaitable<void> RequestPipeline::replace_answer(int status, bool origin) {
  if (origin) {
    observation_.origin_head(status);
    tell_guards(status);
  } else {
    note_error(status);
  }
  co_await fetch_pages(status);
}

// local_ becomes the error pages' answer to `status`, innermost page first (an outer one sees
// the status the inner one sent).
awaitable<void> RequestPipeline::fetch_pages(int status) {
  for (auto it = pages_.rbegin(); it != pages_.rend(); ++it) {
    if (!(*it)->catches(status)) continue;
    local_ = co_await (*it)->fetch(status, worker_, *rc_, client_);
    status = local_.status;
  }
  observation_.local(local_.status, local_.body.size());
}

// Traefik's ping@internal and prometheus@internal routers (PathPrefix, priority MaxInt, on
// ping.entryPoint / metrics.prometheus.entryPoint, cleartext side), and api.insecure's (api:
// PathPrefix(`/api`), dashboard: the rest, "/" redirected to /dashboard/).
bool RequestPipeline::internal_endpoint(const RequestHead& head) {
  if (listener_.tls) return false;
  if (listener_.serves_ping && head.path.starts_with("/ping")) {
    answer_internal(config::InternalService::ping, head);
  } else if (listener_.serves_metrics && head.path.starts_with("/metrics")) {
    answer_internal(config::InternalService::prometheus, head);
  } else if (listener_.serves_api && head.path == "/") {
    local_.status = 301;
    local_.headers.emplace_back("Location", "/dashboard/");
  } else if (listener_.serves_api) {
    answer_internal(config::InternalService::api, head);
  } else {
    return false;
  }
  observation_.internal();
  return true;
}

// What an internal service answers (config/internal_services.hpp): the API by path, the others
// whatever the path.
void RequestPipeline::answer_internal(config::InternalService service, const RequestHead& head) {
  switch (service) {
    case config::InternalService::ping:
      local_.status = worker_.observer().shared().ping_status();
      local_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      local_.body = std::string(reason_phrase(local_.status));
      break;
    case config::InternalService::prometheus:
      local_.status = 200;
      local_.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      local_.body = worker_.observer().shared().render_metrics();
      break;
    case config::InternalService::api: {
      ApiReply reply = worker_.observer().shared().api().answer(head.method, head.path, head.query);
      local_.status = reply.status;
      local_.headers = std::move(reply.headers);
      local_.headers.emplace_back("Content-Type", std::move(reply.content_type));
      local_.body = std::move(reply.body);
      break;
    }
    default:
      local_.status = 418;  // noop@internal, as Traefik answers: no body
      break;
  }
}

// Traefik's acme-http@internal: /.well-known/acme-challenge/TOKEN (one segment, an optional
// trailing slash) answers the key authorization set for TOKEN and the request's host; 404
// otherwise.
RequestPipeline::Step RequestPipeline::answer_acme_http(const RequestHead& head) {
  observation_.internal();
  std::string_view token = head.path.substr(tls::kAcmeChallengePrefix.size());
  if (token.ends_with('/')) token.remove_suffix(1);
  std::optional<std::string> answer;
  if (token.find('/') == std::string_view::npos)
    answer = listener_.acme_http->http_answer(token, normalize_host(head.host));
  local_.status = answer ? 200 : 404;
  if (answer) {
    local_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    local_.body = std::move(*answer);
  }
  return Step::reply;
}

RequestPipeline::Step RequestPipeline::route(const RequestHead& head) {
  if ((listener_.serves_ping || listener_.serves_metrics || listener_.serves_api) && internal_endpoint(head))
    return Step::reply;
  // HTTP-01: ahead of routers and http.redirections, or after them with allowACMEByPass.
  const bool acme = listener_.acme_http && !listener_.tls && head.path.starts_with(tls::kAcmeChallengePrefix);
  const bool bypass = listener_.entry_point.allow_acme_bypass;
  if (acme && !bypass) return answer_acme_http(head);
  if (listener_.redirect_target && !acme) {
    redirect_entry_point(head);
    return Step::reply;
  }
  rc_ = worker_.config();
  std::string host = normalize_host(head.host);
  if (client_.tls_policy && misdirected(host)) return refuse(421);
  RequestView view{head.method, host, head.path, head.query, head.headers, client_.address};
  route_ = rc_ ? rc_->route(listener_.entry_index, listener_.tls, view) : nullptr;
  if (!route_) return acme ? answer_acme_http(head) : refuse(404);
  observation_.routed(route_->name, rc_->services[route_->service].name, rc_->generation);
  if (const EntryChain* entry = route_->entry_chain(listener_.entry_index)) {
    chain_ = &entry->chain;
    limits_ = &entry->limits;
  } else {
    chain_ = &route_->chain;
    limits_ = &route_->limits;
  }
  return run_chain(head);
}

awaitable<RequestPipeline::Step> RequestPipeline::resume(const RequestHead& head) {
  if (page_pending_) {  // replied(): the answer's error page
    page_pending_ = false;
    co_await fetch_pages(local_.status);
    co_return Step::reply;
  }
  const Middleware& mw = *(*chain_)[next_++];
  if (body_pending_) {  // the codec read the body (Step::body)
    body_pending_ = false;
    body_read_ = true;
    body_first_ = {-1, 0};
  }
  if (rewrite_pending_) {  // the body was read for mw's request-rewrite phase
    rewrite_pending_ = false;
    if (!rewrite_body(mw, head)) co_return replied();
    Step step = run_chain(head);
    co_return step == Step::reply ? replied() : step;
  }
  RequestContext ctx = context(head, edits_, client_);
  if (body_read_) ctx.body = &body_;
  if (auto reply = co_await mw.on_request_async(ctx, edits_, response_edits_, worker_)) {
    local_ = std::move(*reply);
    co_return replied();
  }
  Step step = run_chain(head);
  co_return step == Step::reply ? replied() : step;
}

// Runs the chain from next_ on; stops at a middleware's reply or before its asynchronous
// phase (resume() runs it).
RequestPipeline::Step RequestPipeline::run_chain(const RequestHead& head) {
  const auto& chain = *chain_;
  while (next_ < chain.size()) {
    const Middleware& mw = *chain[next_];
    unsigned phases = mw.phases();
    response_phase_pending_ |= (phases & (kResponseHeadPhase | kResponseBodyPhase)) != 0;
    sniff_ |= (phases & kContentTypePhase) != 0;
    if (phases & kRequestPhase) {
      RequestContext ctx = context(head, edits_, client_);
      if (auto reply = mw.on_request(ctx, edits_, response_edits_)) {
        local_ = std::move(*reply);
        return Step::reply;
      }
    }
    if (phases & (kResponseBodyPhase | kExchangePhase | kErrorPagePhase)) plan_phases(mw, head);
    if ((phases & kRequestRewritePhase) && head.body != BodyKind::none && !head.upgrade &&
        mw.rewrites_body(context(head, edits_, client_))) {
      if (!body_read_) {  // resume() rewrites once the codec has read it
        body_first_ = mw.body_first();
        body_pending_ = rewrite_pending_ = true;
        return Step::body;
      }
      if (!rewrite_body(mw, head)) return Step::reply;
    }
    if (phases & kAsyncRequestPhase) return wants_body(mw, head) ? Step::body : Step::async;
    ++next_;
  }
  return choose_server(head);
}

// Whether the codec reads the body for `mw` first (kRequestBodyPhase; not for an upgrade,
// whose bytes are the tunnel's, as Traefik leaves a CONNECT's).
bool RequestPipeline::wants_body(const Middleware& mw, const RequestHead& head) {
  if (!(mw.phases() & kRequestBodyPhase) || head.body == BodyKind::none || head.upgrade ||
      body_read_)
    return false;
  body_first_ = mw.body_first();
  body_pending_ = true;
  return true;
}

// The request-rewrite phase: body_ (read whole, as received) becomes what `mw` makes of its
// payload. False when it cannot (local_ is then the answer: 400, or 500 when the temp file
// failed).
bool RequestPipeline::rewrite_body(const Middleware& mw, const RequestHead& head) {
  std::string wire(body_.size(), '\0');
  if (body_.read(0, wire.data(), wire.size()) != wire.size()) {
    refuse(500);
    return false;
  }
  BodyDecoder decoder(head.body, head.body == BodyKind::length ? head.content_length : wire.size());
  IoBuffer payload;
  size_t used = 0;
  std::optional<std::string> rewritten;
  if (decoder.feed(wire, &used, payload) == BodyDecoder::Result::done)
    rewritten = mw.rewrite_body(payload.readable());
  if (!rewritten) {
    refuse(400);
    return false;
  }
  body_.replace(*rewritten);
  body_rewritten_ = true;
  return true;
}

// Whether the request may go to `server`: a scheme portier speaks, h2c when a middleware
// translated it to gRPC.
bool RequestPipeline::serves(const UpstreamServer& server) const {
  return upstream_supported(server) && (!edits_.h2c_only || server.scheme == "h2c");
}

// The per-request state of the response-body and exchange phases.
void RequestPipeline::plan_phases(const Middleware& mw, const RequestHead& head) {
  RequestContext ctx = context(head, edits_, client_);
  unsigned phases = mw.phases();
  if (phases & kResponseBodyPhase)
    if (auto filter = mw.plan_response(ctx)) filters_.push_back(std::move(filter));
  if (phases & kExchangePhase)
    if (auto guard = mw.plan_exchange(ctx)) guards_.push_back(std::move(guard));
  if (phases & kErrorPagePhase)
    if (auto page = mw.plan_error_page(ctx)) pages_.push_back(std::move(page));
}

// The answer's status reaches the exchange guards once (circuitBreaker counts it).
void RequestPipeline::tell_guards(int status) const {
  if (guards_.empty() || guards_told_ || first_attempt_ == std::chrono::steady_clock::time_point{}) return;
  guards_told_ = true;
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - first_attempt_);
  for (const auto& guard : guards_) guard->finished(status, elapsed);
}

awaitable<bool> RequestPipeline::retry(const Attempt& attempt, bool replayable) {
  if (attempt.reused && !attempt.responded && replayable && !fresh_retry_used_) {
    fresh_retry_used_ = true;
    co_return true;
  }
  std::optional<std::chrono::milliseconds> wait;
  for (const auto& guard : guards_)
    if ((wait = guard->next_attempt(attempt, replayable))) break;
  if (!wait) co_return false;
  observation_.retried();
  if (wait->count() > 0) {
    asio::steady_timer timer(worker_.io(), *wait);
    co_await timer.async_wait(use_tuple);
  }
  const RequestHead no_cookie;  // the request head's views may be gone by now
  // The next server of the service (its cookies and mirror copies are not for this attempt).
  ServiceChoice next = pick_server(worker_, no_cookie, *rc_, route_->service);
  if (next.server && serves(*next.server)) {
    server_ = next.server;
    service_ = next.service;
    observation_.chose(server_->url, server_->authority, std::chrono::steady_clock::now());
  }
  co_return true;
}

RequestPipeline::Step RequestPipeline::choose_server(const RequestHead& head) {
  const BodyLimits& limits = *limits_;
  if (limits.max_request > 0 && head.body == BodyKind::length &&
      head.content_length > static_cast<uint64_t>(limits.max_request))
    return refuse(413);
  if (auto internal = rc_->services[route_->service].internal; internal != config::InternalService::none) {
    answer_internal(internal, head);
    return Step::reply;
  }
  for (const auto& guard : guards_) {
    if (auto status = guard->admit()) {
      refuse(*status);
      local_.body = std::string(reason_phrase(*status));
      return Step::reply;
    }
  }
  first_attempt_ = std::chrono::steady_clock::now();
  ServiceChoice choice = pick_server(worker_, head, *rc_, route_->service);
  server_ = choice.server;
  service_ = choice.service;
  if (!server_) return refuse(503);
  if (!serves(*server_)) return refuse(502);
  // The access log and metrics name the load balancer that serves (Traefik's ServiceName).
  observation_.routed(route_->name, service_->name, rc_->generation);
  observation_.chose(server_->url, server_->authority, first_attempt_);
  // One Set-Cookie per sticky level (a weighted service's, its load balancer's).
  for (size_t i = 0; i < choice.cookies.size(); ++i) {
    if (i + 1 == choice.cookies.size()) set_cookie_ = std::move(choice.cookies[i]);
    else response_edits_.add.emplace_back("Set-Cookie", std::move(choice.cookies[i]));
  }
  if (!choice.mirrors.empty()) {
    mirror_ = std::make_unique<RequestMirror>(std::move(choice.mirrors), head);
  }
  return Step::forward;
}

RequestPipeline::~RequestPipeline() {
  if (!edits_.user.empty()) observation_.user(edits_.user);
  if (mirror_) mirror_->send(worker_, rc_);
}

RequestPipeline::Step RequestPipeline::refuse(int status) {
  local_.status = status;
  local_.headers.clear();
  local_.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  local_.body = error_body(status);
  // An error is portier's own: the middlewares' planned response edits do not apply to it.
  response_edits_ = {};
  return Step::reply;
}

// A request for a host whose tls.options differ from those its connection was handshaked
// with (SNI) would bypass them: 421, as Traefik answers. The same on TCP TLS and QUIC: both
// record the policy their handshake applied in the ClientInfo. Compared by name: a reload
// rebuilds the policies, a connection keeps the one it was handshaked with.
bool RequestPipeline::misdirected(const std::string& host) const {
  const auto& ctx = worker_.tls_context();
  if (!ctx || host.empty()) return false;
  auto wanted = ctx->server->policy_for(host);
  return wanted && wanted->name != client_.tls_policy->name;
}

// http.redirections on the entrypoint: the same host and path on the target entrypoint.
// Permanent: 301 for GET, 308 otherwise; temporary: 302 / 307.
void RequestPipeline::redirect_entry_point(const RequestHead& head) {
  const auto& to = *listener_.redirect_target;
  const auto& r = *listener_.entry_point.redirection;
  std::string host(head.host);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.find(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  bool default_port =
      (r.scheme == "https" && to.port == 443) || (r.scheme == "http" && to.port == 80);
  std::string location =
      r.scheme + "://" + host + (default_port ? "" : ":" + std::to_string(to.port)) +
      std::string(head.path) + (head.query.empty() ? "" : "?" + std::string(head.query));
  bool get = head.method == "GET";
  local_.status = r.permanent ? (get ? 301 : 308) : (get ? 302 : 307);
  local_.headers.emplace_back("Location", std::move(location));
}

std::string RequestPipeline::upstream_head(const RequestHead& head) const {
  if (body_rewritten_) {  // the rewritten body goes with its own length
    RequestHead framed = head;
    framed.body = BodyKind::length;
    framed.content_length = body_.size();
    if (mirror_) mirror_->prepare(framed, client_, edits_);
    return build_upstream_head(framed, *service_, *server_, client_, &edits_);
  }
  if (mirror_) mirror_->prepare(head, client_, edits_);
  return build_upstream_head(head, *service_, *server_, client_, &edits_);
}

void RequestPipeline::run_response_phase(const ResponseHead& resp) {
  if (!response_phase_pending_) return;
  response_phase_pending_ = false;
  for (const auto& mw : *chain_)
    if (mw->phases() & kResponseHeadPhase) mw->on_response_head(resp, response_edits_);
  if (filters_.empty()) return;
  std::reverse(filters_.begin(), filters_.end());  // innermost first
  if (resp.status == 101) filters_.clear();
  std::erase_if(filters_, [&](const auto& f) { return !f->start(resp, response_edits_); });
}

bool RequestPipeline::sniffs(const ResponseHead& resp) const {
  if (!sniff_ || resp.body == BodyKind::none || resp.status < 200 || resp.status == 204 ||
      resp.status == 304)
    return false;
  for (const auto& h : resp.headers)
    if (iequals(h.name, "content-type")) return false;  // present, even empty: left alone
  return true;
}

awaitable<std::string_view> RequestPipeline::sniff_content_type(UpstreamConn& up,
                                                                const ResponseHead& resp,
                                                                Watchdog& watchdog) const {
  constexpr size_t kLook = 8192;  // enough for a chunk-size line and 512 payload bytes
  for (int reads = 0;; ++reads) {
    BodyDecoder decoder(resp.body, resp.content_length);
    IoBuffer payload;
    size_t used = 0;
    auto result = decoder.feed(up.buf.readable().substr(0, kLook), &used, payload);
    if (payload.size() > 0) co_return detect_content_type(payload.readable());
    if (result != BodyDecoder::Result::more || up.buf.size() >= kLook || reads == 8) co_return "";
    watchdog.arm(worker_.limits().body_timeout);
    auto [ec, n] = co_await up.read_some(up.buf.prepare(4096, 65536));
    if (ec) co_return "";  // the relay meets the end or the error
    up.buf.commit(n);
  }
}

bool RequestPipeline::take_trailers(std::string_view raw) {
  for (const auto& filter : filters_)
    if (filter->trailers(raw)) return true;
  return false;
}

bool RequestPipeline::filter_body(std::string_view in, bool last, IoBuffer& out) {
  if (filters_.size() == 1) return filters_[0]->feed(in, last, out);
  IoBuffer stage, next;
  for (size_t i = 0; i + 1 < filters_.size(); ++i) {
    if (!filters_[i]->feed(in, last, next)) return false;
    std::swap(stage, next);
    next.consume(next.size());
    in = stage.readable();
  }
  return filters_.back()->feed(in, last, out);
}

awaitable<std::unique_ptr<UpstreamConn>> RequestPipeline::connect(Watchdog& watchdog,
                                                                  tcp::socket* client,
                                                                  tcp::socket** exposed) const {
  const UpstreamServer& server = *server_;
  auto conn = std::make_unique<UpstreamConn>(worker_.io().get_executor(), server);
  conn->key = server.pool_key;
  if (exposed) *exposed = &conn->socket();
  watchdog.watch(client, &conn->socket());
  watchdog.arm(conn->transport().dial_timeout);
  std::string why = co_await conn->connect(server, server.endpoint);
  bool timed_out = watchdog.expired();
  watchdog.disarm();
  if (why.empty()) co_return conn;
  if (exposed) *exposed = nullptr;
  log_dial_failure(server, timed_out ? "dial timeout" : why);
  co_return nullptr;
}

awaitable<bool> RequestPipeline::send_buffered(BufferedBody& body, UpstreamConn& up,
                                               Watchdog& watchdog) const {
  if (mirror_) mirror_->take_body(body);
  std::vector<char> chunk(65536);
  for (size_t offset = 0; offset < body.size();) {
    size_t n = body.read(offset, chunk.data(), chunk.size());
    if (n == 0) co_return false;
    watchdog.arm(worker_.limits().body_timeout);
    auto [ec, written] = co_await up.write(asio::buffer(chunk.data(), n));
    if (ec) co_return false;
    offset += n;
  }
  co_return true;
}

awaitable<int> RequestPipeline::read_response_head(UpstreamConn& up, bool head_request,
                                                   ResponseHead& resp, Watchdog& watchdog,
                                                   bool* silent) const {
  const auto& limits = worker_.limits();
  *silent = false;
  watchdog.arm(up.head_timeout(limits.upstream_timeout));
  bool received = !up.buf.empty();
  for (;;) {
    if (!up.buf.empty()) {
      ParseOutcome r = parse_response_head(up.buf.readable(), limits.http, head_request, resp);
      if (r.status == ParseStatus::error) co_return 502;
      if (r.status == ParseStatus::complete) {
        if (resp.status < 100 || resp.status >= 200 || resp.status == 101) co_return 0;
        up.buf.consume(resp.head_size);  // interim responses are not relayed
        continue;
      }
    }
    auto [ec, n] = co_await up.read_some(up.buf.prepare(16384));
    if (ec) {
      if (watchdog.expired()) co_return 504;
      *silent = !received;
      co_return 502;
    }
    received = true;
    up.buf.commit(n);
  }
}

awaitable<int> RequestPipeline::collect_response(UpstreamConn& up, ResponseCollector& collector,
                                                 Watchdog& watchdog) const {
  for (;;) {
    size_t used = 0;
    auto step = collector.feed(up.buf.readable(), &used);
    up.buf.consume(used);
    if (step == ResponseCollector::Step::done) co_return 0;
    if (step == ResponseCollector::Step::too_large) co_return 500;  // as Traefik
    if (step == ResponseCollector::Step::error) co_return 502;
    watchdog.arm(worker_.limits().body_timeout);
    auto [ec, n] = co_await up.read_some(up.buf.prepare(16384, 65536));
    if (ec == asio::error::eof && collector.at_eof() == ResponseCollector::Step::done) co_return 0;
    if (ec) co_return watchdog.expired() ? 504 : 502;
    up.buf.commit(n);
  }
}

}  // namespace portier::proxy
