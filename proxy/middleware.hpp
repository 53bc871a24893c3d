#pragma once
// HTTP middlewares (Traefik's names and semantics). A router's chain is compiled once per
// snapshot into immutable Middleware objects shared by every worker (const, no per-request
// state in the object). RequestPipeline runs them for both codecs (HTTP/1.1, HTTP/2), in
// chain order, in the phases each declares with phases() (no virtual call for the others):
//   request        on_request: sees the head, may edit the request (headers, path), plan
//                  edits of the response headers, or answer locally (redirects). Synchronous.
//   request_async  on_request_async: the same, but may co_await on the worker (basicAuth's
//                  password check on PasswordVerifier's pool, rateLimit's wait for its token,
//                  forwardAuth's subrequest). Runs right after its own on_request; the
//                  pipeline enters a coroutine only when a chain holds such a middleware.
//   request_body   with request_async: the request body is read whole before that phase
//                  runs (forwardAuth's forwardBody) and is seen as ctx.body; a body over
//                  body_first().max decoded bytes is answered body_first().status instead.
// State shared across workers (rateLimit's buckets, inFlightReq's counters) is held by the
// middleware object behind its own locks; it lives as long as the compiled chain.
//   response_head  on_response_head: the upstream's head is known; edits response headers
//                  (the first middleware of the chain has the last word, as in Traefik).
//   response_body  plan_response: at request time (the request head is at hand), a
//                  per-request ResponseFilter, or null when this request's response is left
//                  alone (compress: a HEAD request, no acceptable coding). Once the response
//                  head is known the filter says whether it transforms this body (start()); the
//                  codec's relay then decodes the upstream's framing, feeds the payload through
//                  the filters (innermost first, as Traefik's handlers wrap) and sends the
//                  output unsized (chunked, or HTTP/2 DATA without content-length).
//   exchange       plan_exchange: at request time, a per-request ExchangeGuard that sees
//                  every attempt at the upstream exchange up to the response head and decides
//                  whether another is made, after what wait (retry). The codecs' attempt loops
//                  ask the pipeline (RequestPipeline::retry), which asks the guards; a guard
//                  may refuse the request before any attempt and sees its outcome
//                  (circuitBreaker).
//   error_page     plan_error_page: at request time, a per-request ErrorPage that sees the
//                  status of every answer made inside it (the service's, a later middleware's,
//                  portier's own 502/503/504) and may replace that answer with a page fetched
//                  from another service (errors). Innermost first, as Traefik's handlers wrap.
//   request_rewrite (grpcWeb) rewrites_body(), after on_request: whether this request's body
//                  is read whole (within body_first()) and replaced by what rewrite_body() makes
//                  of its payload (chunked framing removed); it goes upstream with a
//                  Content-Length. Not combined with request_async in one middleware.
//   content_type   (contentType) a response without a Content-Type field gets the one Go's
//                  http.DetectContentType gives its first payload bytes, as Traefik restores
//                  Go's detection (RequestPipeline::sniffs).
// body_limits() is read once when the route is compiled (buffering).
// Adding one: a make_* function in its own file, a case in make_middleware().
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/dynamic.hpp"
#include "proxy/asio.hpp"
#include "proxy/buffered_body.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HeaderEdits {
  HeaderList set;                   // replaces every header of that name
  std::vector<std::string> remove;  // names, case-insensitive
  // Response only: fields added next to the relayed ones of the same name (Set-Cookie), and the
  // names of the cookies whose relayed Set-Cookie fields are dropped (forwardAuth's cookies).
  HeaderList add;
  std::vector<std::string> drop_cookies;
  bool touches(std::string_view name) const;
  // Whether a relayed field is dropped: touched, or a Set-Cookie for a name in drop_cookies.
  bool drops(std::string_view name, std::string_view value) const;
  void set_header(std::string name, std::string value);
  void remove_header(std::string name);
};

// Something a middleware holds for the request's whole exchange (inFlightReq's slot); released
// when the pipeline ends, after the response was relayed or the request failed.
class RequestHold {
 public:
  virtual ~RequestHold() = default;
};

struct RequestEdits {
  HeaderEdits headers;
  std::optional<std::string> path;  // replaces the request path; the query is kept
  std::string user;  // who authenticated, for the access log's ClientUsername ("" none)
  std::vector<std::unique_ptr<RequestHold>> holds;
  bool h2c_only = false;  // gRPC (grpcWeb): a server that is not h2c answers 502
};

struct LocalReply {
  int status = 0;
  HeaderList headers;
  std::string body;
};

// Buffering limits (0 = unlimited); the strictest middleware wins.
struct BodyLimits {
  int64_t max_request = 0;
  int64_t mem_request = 1 << 20;
  int64_t max_response = 0;
  int64_t mem_response = 1 << 20;  // with max_response: memory before a temp file
  bool buffer_request = false;
};

// What a middleware knows of the request.
struct RequestContext {
  const RequestHead& head;
  std::string_view path;  // current path (after earlier middlewares)
  bool tls = false;
  std::string_view client_ip;  // the connection's peer address, as text
  bool trusted = false;        // forwardedHeaders trusts the peer: its X-Forwarded-* count
  const SSL* ssl = nullptr;    // the client connection's TLS (null on cleartext): its certificate
  // kRequestBodyPhase: the body read whole, as received (chunked stays chunked when head.body
  // says so); null when the request has none.
  BufferedBody* body = nullptr;
};

class Worker;

// A response-body phase's state for one request (see response_body above).
class ResponseFilter {
 public:
  virtual ~ResponseFilter() = default;
  // The upstream's response head: whether this filter transforms its body. It may plan header
  // edits either way (compress adds Vary whenever it negotiated a coding); `response` holds the
  // edits planned so far, those of the filters inside this one included.
  virtual bool start(const ResponseHead& resp, HeaderEdits& response) = 0;
  // After start() said yes: appends what `in` (payload bytes, in order) becomes to `out`;
  // `last` ends the body. False when the filter failed (the response is cut short).
  virtual bool feed(std::string_view in, bool last, IoBuffer& out) = 0;
  // After start() said yes, once before the last feed(): the upstream's trailer section ("Name:
  // value\r\n" lines; "" when it sent none). True when the filter takes them into the body:
  // they are then not relayed as trailers, nor offered to the filters outside this one.
  virtual bool trailers(std::string_view raw) { return false; }
};

// What one attempt at the upstream exchange came to.
struct Attempt {
  bool reused = false;     // on a pooled connection
  bool written = false;    // the request head was written to the connection
  bool received = false;   // a response byte came
  bool responded = false;  // a whole response head came, with `status`
  int status = 0;
};

// An exchange phase's state for one request (see exchange above). Several may hold for one
// request (retry and circuitBreaker in one chain): every guard must admit the request, the
// first that wants another attempt has it, each sees the outcome.
class ExchangeGuard {
 public:
  virtual ~ExchangeGuard() = default;
  // Before the first attempt: nullopt to go on, or the status to answer instead (an open
  // circuit breaker).
  virtual std::optional<int> admit() { return std::nullopt; }
  // A body up to this size is read whole first, so that the request can be sent again
  // (-1: any size, 0: none).
  virtual int64_t replay_body_bytes() const { return 0; }
  // A response head with `status` came: whether it is discarded for another attempt.
  // `replayable`: the request can be sent again whole.
  virtual bool retries_status(int status, bool replayable) const { return false; }
  // After an attempt that failed or was discarded: the wait before the next one, or nullopt
  // when there is none (the failure is answered).
  virtual std::optional<std::chrono::milliseconds> next_attempt(const Attempt& attempt,
                                                                bool replayable) {
    return std::nullopt;
  }
  // Once: the status the client is answered (the relayed one, or portier's 502/504 after the
  // attempts), `elapsed` from the first attempt to that answer's head.
  virtual void finished(int status, std::chrono::microseconds elapsed) {}
};

struct RuntimeConfig;
struct ClientInfo;

// An error_page phase's state for one request (see error_page above): what it needs of the
// request is copied when it is planned (the head's views do not live as long).
class ErrorPage {
 public:
  virtual ~ErrorPage() = default;
  // Whether an answer with `status` is replaced.
  virtual bool catches(int status) const = 0;
  // The answer sent instead: the page, with the status to send (`status`, or its rewrite).
  // `client` is the connection's (the page is requested as forwarded for it).
  virtual awaitable<LocalReply> fetch(int status, Worker& worker, const RuntimeConfig& rc,
                                      const ClientInfo& client) = 0;
};

// Bits of Middleware::phases().
enum MiddlewarePhase : unsigned {
  kRequestPhase = 1u << 0,
  kAsyncRequestPhase = 1u << 1,
  kResponseHeadPhase = 1u << 2,
  kResponseBodyPhase = 1u << 3,
  kExchangePhase = 1u << 4,
  kRequestBodyPhase = 1u << 5,
  kErrorPagePhase = 1u << 6,
  kContentTypePhase = 1u << 7,
  kRequestRewritePhase = 1u << 8,
};

// kRequestBodyPhase, kRequestRewritePhase: the largest body read for the middleware (-1: any)
// and the status that answers a larger one.
struct BodyFirst {
  int64_t max = -1;
  int status = 413;
};

class Middleware {
 public:
  virtual ~Middleware() = default;
  virtual unsigned phases() const { return kRequestPhase; }
  // A reply to send instead of forwarding, or nullopt to continue the chain.
  virtual std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                               HeaderEdits& response) const {
    return std::nullopt;
  }
  // kAsyncRequestPhase. `ctx.head` stays valid across suspension; `worker` is the request's
  // (its pool and executor serve a subrequest). Same contract as on_request.
  virtual awaitable<std::optional<LocalReply>> on_request_async(const RequestContext& ctx,
                                                                RequestEdits& request,
                                                                HeaderEdits& response,
                                                                Worker& worker) const {
    co_return std::nullopt;
  }
  // kResponseHeadPhase: `resp` is the upstream's head (status, the fields as relayed before
  // any edit); edits planned here apply to this response. Not called for local replies.
  virtual void on_response_head(const ResponseHead& resp, HeaderEdits& response) const {}
  // kExchangePhase: this request's guard, or null.
  virtual std::unique_ptr<ExchangeGuard> plan_exchange(const RequestContext& ctx) const {
    return nullptr;
  }
  // kResponseBodyPhase: this request's filter, or null.
  virtual std::unique_ptr<ResponseFilter> plan_response(const RequestContext& ctx) const {
    return nullptr;
  }
  // kErrorPagePhase: this request's error page, or null.
  virtual std::unique_ptr<ErrorPage> plan_error_page(const RequestContext& ctx) const {
    return nullptr;
  }
  // kRequestRewritePhase: whether this request's body is rewritten (see request_rewrite).
  virtual bool rewrites_body(const RequestContext& ctx) const { return false; }
  // What the body's payload becomes, or nullopt when it is malformed (answered 400).
  virtual std::optional<std::string> rewrite_body(std::string_view payload) const {
    return std::nullopt;
  }
  virtual void body_limits(BodyLimits& limits) const {}
  virtual BodyFirst body_first() const { return {}; }
};

using MiddlewarePtr = std::shared_ptr<const Middleware>;

// Null (and *error set) when the spec cannot be compiled. `chain` specs are expanded by
// expand_middlewares, not here.
MiddlewarePtr make_middleware(const config::MiddlewareSpec& spec, std::string* error);
// A router's middleware names, chains flattened in order, resolved in `all` (qualified names).
std::vector<MiddlewarePtr> expand_middlewares(const std::vector<std::string>& names,
                                              const std::map<std::string, config::Middleware>& all,
                                              std::string* error);

MiddlewarePtr make_headers_middleware(const config::HeadersMw& spec, std::string* error);
MiddlewarePtr make_redirect_scheme_middleware(const config::RedirectSchemeMw& spec);
MiddlewarePtr make_redirect_regex_middleware(const config::RedirectRegexMw& spec, std::string* error);
MiddlewarePtr make_strip_prefix_middleware(const config::StripPrefixMw& spec);
MiddlewarePtr make_add_prefix_middleware(const config::AddPrefixMw& spec);
MiddlewarePtr make_buffering_middleware(const config::BufferingMw& spec);
MiddlewarePtr make_basic_auth_middleware(const config::BasicAuthMw& spec, std::string* error);
MiddlewarePtr make_ip_allow_list_middleware(const config::IpAllowListMw& spec, std::string* error);
MiddlewarePtr make_rate_limit_middleware(const config::RateLimitMw& spec, std::string* error);
MiddlewarePtr make_in_flight_req_middleware(const config::InFlightReqMw& spec, std::string* error);
MiddlewarePtr make_pass_tls_client_cert_middleware(const config::PassTlsClientCertMw& spec);
MiddlewarePtr make_forward_auth_middleware(const config::ForwardAuthMw& spec, std::string* error);
MiddlewarePtr make_digest_auth_middleware(const config::DigestAuthMw& spec, std::string* error);
MiddlewarePtr make_replace_path_middleware(const config::ReplacePathMw& spec);
MiddlewarePtr make_replace_path_regex_middleware(const config::ReplacePathRegexMw& spec, std::string* error);
MiddlewarePtr make_strip_prefix_regex_middleware(const config::StripPrefixRegexMw& spec, std::string* error);
MiddlewarePtr make_compress_middleware(const config::CompressMw& spec, std::string* error);
MiddlewarePtr make_retry_middleware(const config::RetryMw& spec, std::string* error);
MiddlewarePtr make_circuit_breaker_middleware(const config::CircuitBreakerMw& spec, std::string* error);
MiddlewarePtr make_errors_middleware(const config::ErrorsMw& spec, std::string* error);
MiddlewarePtr make_content_type_middleware(const config::ContentTypeMw& spec);
MiddlewarePtr make_grpc_web_middleware(const config::GrpcWebMw& spec, std::string* error);

// "https" or "http", as the client reached portier.
std::string request_scheme(bool tls);

}  // namespace portier::proxy
