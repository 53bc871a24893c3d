// circuitBreaker (Traefik v3, oxy's cbreaker): while the service's answers meet `expression`,
// answer `responseCode` instead of forwarding, then let traffic back gradually.
//
// States, shared by every worker (one mutex per middleware; the standby check on the request
// path is one atomic load):
//   standby     every request goes through. Every `checkPeriod` at most (checked when a request
//               ends), the expression is evaluated over the last 10 s of answers; when true the
//               breaker trips and the counts are cleared.
//   tripped     every request is answered `responseCode` (body: its reason phrase) for
//               `fallbackDuration`, then
//   recovering  for `recoveryDuration`, a share of requests growing linearly from 0 to 1/2 goes
//               through (oxy's ratio controller), the others get the fallback; the expression is
//               still checked and trips the breaker again; at the end, standby.
// What is counted is the answer the client gets from what the breaker wraps: its status (502
// and 504 count as network errors, as oxy counts them) and the time from the first attempt to
// that answer's head. The state belongs to the compiled middleware: each router using it has
// its own (chains are compiled per router), and a reload starts afresh, as in Traefik.
#include <array>
#include <atomic>
#include <mutex>

#include "proxy/breaker_expression.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kWindowSeconds = 10;

struct BreakerSettings {
  BreakerExpression expression;
  Clock::duration check_period, fallback, recovery;
  int response_code = 503;
};

class Breaker {
 public:
  explicit Breaker(BreakerSettings settings) : s_(std::move(settings)) {}

  // nullopt: forward the request; else the status to answer.
  std::optional<int> admit() {
    if (state_.load(std::memory_order_acquire) == State::standby) return std::nullopt;
    std::lock_guard lock(m_);
    auto now = Clock::now();
    if (state_ == State::tripped) {
      if (now < until_) return s_.response_code;
      enter(State::recovering, now + s_.recovery);
      ramp_start_ = now;
      allowed_ = denied_ = 0;
    }
    if (state_ == State::recovering) {
      if (now > until_) {
        enter(State::standby, now);
        return std::nullopt;
      }
      double target = 0.5 * std::chrono::duration<double>(now - ramp_start_) / std::chrono::duration<double>(s_.recovery);
      double share = static_cast<double>(allowed_ + 1) / static_cast<double>(allowed_ + denied_ + 1);
      if (share < target) {
        ++allowed_;
        return std::nullopt;
      }
      ++denied_;
      return s_.response_code;
    }
    return std::nullopt;
  }

  void record(int status, std::chrono::microseconds elapsed) {
    std::lock_guard lock(m_);
    auto now = Clock::now();
    slot(now).add(status, static_cast<uint64_t>(elapsed.count()));
    if (now < next_check_ || state_ == State::tripped) return;
    next_check_ = now + s_.check_period;
    BreakerStats window;
    auto second = seconds(now);
    for (const auto& sl : slots_)
      if (sl.second > second - kWindowSeconds) window.merge(sl.stats);
    if (!s_.expression.eval(window)) return;
    enter(State::tripped, now + s_.fallback);
    for (auto& sl : slots_) sl = Slot{};
  }

 private:
  enum class State { standby, tripped, recovering };
  struct Slot {
    int64_t second = INT64_MIN;
    BreakerStats stats;
  };
  static int64_t seconds(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }
  BreakerStats& slot(Clock::time_point now) {
    int64_t second = seconds(now);
    Slot& sl = slots_[static_cast<size_t>(((second % kWindowSeconds) + kWindowSeconds) % kWindowSeconds)];
    if (sl.second != second) sl = Slot{second, {}};
    return sl.stats;
  }
  void enter(State state, Clock::time_point until) {
    state_.store(state, std::memory_order_release);
    until_ = until;
  }

  BreakerSettings s_;
  std::mutex m_;
  std::atomic<State> state_{State::standby};
  Clock::time_point until_{}, ramp_start_{}, next_check_{};
  uint64_t allowed_ = 0, denied_ = 0;
  std::array<Slot, kWindowSeconds> slots_{};
};

class BreakerGuard : public ExchangeGuard {
 public:
  explicit BreakerGuard(Breaker& breaker) : breaker_(breaker) {}
  std::optional<int> admit() override { return breaker_.admit(); }
  void finished(int status, std::chrono::microseconds elapsed) override { breaker_.record(status, elapsed); }

 private:
  Breaker& breaker_;  // the middleware's: it outlives the request (pinned snapshot)
};

class CircuitBreaker : public Middleware {
 public:
  explicit CircuitBreaker(BreakerSettings settings) : breaker_(std::make_unique<Breaker>(std::move(settings))) {}
  unsigned phases() const override { return kExchangePhase; }
  std::unique_ptr<ExchangeGuard> plan_exchange(const RequestContext&) const override {
    return std::make_unique<BreakerGuard>(*breaker_);
  }

 private:
  std::unique_ptr<Breaker> breaker_;  // state shared by the requests of every worker
};

}  // namespace

MiddlewarePtr make_circuit_breaker_middleware(const config::CircuitBreakerMw& spec, std::string* error) {
  auto expression = BreakerExpression::parse(spec.expression, error);
  if (!expression) {
    *error = "circuitBreaker.expression: " + *error;
    return nullptr;
  }
  // Zero durations take Traefik's defaults, as its options are only set when positive.
  auto or_default = [](config::Millis v, int64_t ms) {
    return std::chrono::milliseconds(v.count() > 0 ? v.count() : ms);
  };
  BreakerSettings s{std::move(*expression), or_default(spec.check_period, 100),
                    or_default(spec.fallback_duration, 10000), or_default(spec.recovery_duration, 10000),
                    static_cast<int>(spec.response_code)};
  return std::make_shared<CircuitBreaker>(std::move(s));
}

}  // namespace portier::proxy
