// retry (Traefik v3): another attempt at the upstream exchange, on the next server of the
// service, after an exponential backoff.
//
// Semantics (Traefik's, with the rule for network errors): `attempts` counts every try,
// the first included. A network error is an attempt that got no response byte (dial refused,
// connection reset or closed before answering, no answer within the response timeout); it is
// retried when the request had not been
// written yet, or when it can be sent again whole (no body, or a body read whole first, up to
// `maxRequestBodyBytes`) and its method is idempotent (POST, PATCH and LOCK are not, unless
// `retryNonIdempotentMethod`). `status` ranges retry a response with such a status on the same
// conditions; the last attempt's response is relayed whatever its status. `timeout` bounds the
// time from the first attempt after which no retry starts. The wait before retry k (k >= 1) is
// initialInterval x m^(k-1), m = 2^(1/(attempts-1)) (so it at most doubles over the series),
// each randomized by +-50% as Traefik's backoff does; none when initialInterval is 0.
#include <cmath>
#include <random>

#include "config/value_parsers.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

using Clock = std::chrono::steady_clock;

struct RetryPolicy {
  int attempts = 1;
  std::chrono::milliseconds initial{0};
  std::chrono::milliseconds timeout{0};
  int64_t max_body = 0;
  config::StatusRanges status;
  bool network = true;
  bool non_idempotent = false;
};

class RetryGuard : public ExchangeGuard {
 public:
  RetryGuard(const RetryPolicy& policy, bool idempotent)
      : policy_(policy), method_ok_(idempotent || policy.non_idempotent) {}

  int64_t replay_body_bytes() const override { return method_ok_ ? policy_.max_body : 0; }

  bool retries_status(int status, bool replayable) const override {
    return replayable && method_ok_ && another_allowed() && config::in_status_ranges(policy_.status, status);
  }

  std::optional<std::chrono::milliseconds> next_attempt(const Attempt& a, bool replayable) override {
    if (!another_allowed()) return std::nullopt;
    if (!a.responded) {
      if (!policy_.network || a.received) return std::nullopt;
      if (a.written && !(replayable && method_ok_)) return std::nullopt;
    }
    return backoff(++tries_);  // a discarded response was checked by retries_status
  }

 private:
  bool another_allowed() const {
    if (tries_ + 1 >= policy_.attempts) return false;
    return policy_.timeout.count() == 0 || Clock::now() - start_ < policy_.timeout;
  }
  std::chrono::milliseconds backoff(int retry) const {
    if (policy_.initial.count() <= 0 || policy_.attempts < 2) return std::chrono::milliseconds(0);
    double m = std::pow(2.0, 1.0 / (policy_.attempts - 1));
    double wait = policy_.initial.count() * std::pow(m, retry - 1);
    thread_local std::minstd_rand rng{std::random_device{}()};
    wait *= std::uniform_real_distribution<double>(0.5, 1.5)(rng);
    return std::chrono::milliseconds(static_cast<int64_t>(wait));
  }

  const RetryPolicy& policy_;  // the middleware's: it outlives the request (pinned snapshot)
  bool method_ok_;
  int tries_ = 0;  // retries started so far
  Clock::time_point start_ = Clock::now();
};

class Retry : public Middleware {
 public:
  explicit Retry(RetryPolicy policy) : policy_(std::move(policy)) {}
  unsigned phases() const override { return kExchangePhase; }
  std::unique_ptr<ExchangeGuard> plan_exchange(const RequestContext& ctx) const override {
    if (policy_.attempts < 2) return nullptr;
    std::string_view m = ctx.head.method;
    return std::make_unique<RetryGuard>(policy_, m != "POST" && m != "PATCH" && m != "LOCK");
  }

 private:
  RetryPolicy policy_;
};

}  // namespace

MiddlewarePtr make_retry_middleware(const config::RetryMw& spec, std::string* error) {
  if (spec.attempts <= 0) {
    *error = "retry.attempts: must be at least 1";
    return nullptr;
  }
  if (spec.disable_retry_on_network_error && spec.status.empty()) {
    *error = "retry: with disableRetryOnNetworkError, status codes are needed";
    return nullptr;
  }
  RetryPolicy policy;
  auto ranges = config::parse_status_ranges(spec.status, error);
  if (!ranges) {
    *error = "retry.status: " + *error;
    return nullptr;
  }
  policy.status = std::move(*ranges);
  policy.attempts = static_cast<int>(spec.attempts);
  policy.initial = spec.initial_interval;
  policy.timeout = spec.timeout;
  policy.max_body = spec.max_request_body_bytes;
  policy.network = !spec.disable_retry_on_network_error;
  policy.non_idempotent = spec.retry_non_idempotent_method;
  return std::make_shared<Retry>(std::move(policy));
}

}  // namespace portier::proxy
