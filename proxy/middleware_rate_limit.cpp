// rateLimit: `average` requests per `period` and source, bursts of `burst`, as Traefik's
// in-memory limiter: a request that would wait longer than maxDelay (half the interval between
// two tokens, at most 500 ms) for its token gets 429 with Retry-After and X-Retry-In; a shorter
// wait is served after it (a timer on the request's worker, the event loop keeps running).
// The buckets (rate_buckets.hpp) are shared by all workers and live as long as the snapshot.
#include <cmath>
#include <cstdio>

#include "proxy/http_errors.hpp"
#include "proxy/middleware.hpp"
#include "proxy/rate_buckets.hpp"
#include "proxy/request_source.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

// Go's time.Duration.String() for a positive duration below an hour ("1.5s", "250ms", "40µs").
std::string go_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  char buf[48];
  auto fixed = [&](double v, const char* unit) {
    std::snprintf(buf, sizeof buf, "%.9f", v);
    std::string s(buf);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + unit;
  };
  if (ns <= 0) return "0s";
  if (ns < 1000) return std::to_string(ns) + "ns";
  if (ns < 1000000) return fixed(ns / 1e3, "µs");
  if (ns < 1000000000) return fixed(ns / 1e6, "ms");
  int64_t minutes = ns / 60000000000;
  std::string s = fixed((ns % 60000000000) / 1e9, "s");
  return minutes ? std::to_string(minutes) + "m" + s : s;
}

class RateLimitMiddleware final : public Middleware {
 public:
  RateLimitMiddleware(RequestSource source, std::shared_ptr<RateBuckets> buckets)
      : source_(std::move(source)), buckets_(std::move(buckets)) {}

  unsigned phases() const override { return kAsyncRequestPhase; }

  awaitable<std::optional<LocalReply>> on_request_async(const RequestContext& ctx, RequestEdits&,
                                                        HeaderEdits&,
                                                        Worker& worker) const override {
    auto d = buckets_->take(source_.key(ctx), RateBuckets::Clock::now());
    if (!d.allowed) co_return too_many(d.delay);
    if (d.delay > RateBuckets::Clock::duration::zero()) {
      asio::steady_timer timer(worker.io(), d.delay);
      co_await timer.async_wait(use_tuple);
    }
    co_return std::nullopt;
  }

 private:
  static LocalReply too_many(RateBuckets::Clock::duration delay) {
    LocalReply reply;
    reply.status = 429;
    double seconds = std::chrono::duration<double>(delay).count();
    reply.headers.emplace_back("Retry-After", std::to_string(static_cast<int64_t>(std::ceil(seconds))));
    reply.headers.emplace_back("X-Retry-In", go_duration(delay));
    reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    reply.body = "Too Many Requests";
    return reply;
  }

  RequestSource source_;
  std::shared_ptr<RateBuckets> buckets_;
};

// average 0: no limit (Traefik's rate.Inf).
class PassMiddleware final : public Middleware {
 public:
  unsigned phases() const override { return 0; }
};

}  // namespace

MiddlewarePtr make_rate_limit_middleware(const config::RateLimitMw& spec, std::string* error) {
  if (spec.average < 0) return *error = "average must not be negative", nullptr;
  if (spec.period.count() < 0) return *error = "period must not be negative", nullptr;
  auto source = RequestSource::make(spec.source_criterion, RequestSource::Default::client_ip, error);
  if (!source) return nullptr;
  if (spec.average == 0) return std::make_shared<PassMiddleware>();
  double period = spec.period.count() == 0 ? 1.0 : spec.period.count() / 1000.0;
  double rate = static_cast<double>(spec.average) / period;
  std::chrono::duration<double> max_delay(rate < 1 ? 0.5 : 1.0 / (std::floor(rate) * 2));
  auto buckets = std::make_shared<RateBuckets>(
      rate, static_cast<double>(std::max<int64_t>(spec.burst, 1)),
      std::chrono::duration_cast<RateBuckets::Clock::duration>(max_delay));
  return std::make_shared<RateLimitMiddleware>(std::move(*source), std::move(buckets));
}

}  // namespace portier::proxy
