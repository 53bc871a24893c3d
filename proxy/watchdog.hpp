#pragma once
// One timer per connection that enforces whichever deadline is current. Moving the deadline
// is a plain store: the timer never waits longer than the shortest duration ever armed (its
// "cap"), so a new deadline is almost never earlier than the pending expiry and needs no
// timer cancellation; when the timer fires before the deadline it simply waits again.
// When the deadline passes, the watched sockets are cancelled and expired() turns true.
// Owned by one session, used on that session's worker thread only. The pending wait shares
// the state (no coroutine, no frame), so destroying the Watchdog while it waits is safe.
#include <algorithm>
#include <chrono>
#include <memory>

#include "proxy/asio.hpp"

namespace portier::proxy {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Watchdog(const asio::any_io_executor& ex) : s_(std::make_shared<State>(ex)) {}
  ~Watchdog() {
    s_->stopped = true;
    s_->a = s_->b = nullptr;
    if (s_->waiting) s_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void watch(tcp::socket* a, tcp::socket* b = nullptr) {
    s_->a = a;
    s_->b = b;
  }
  // Starts enforcing: the deadline is now + d.
  void arm(Clock::duration d) {
    auto now = Clock::now();
    s_->expired = false;
    s_->deadline = now + d;
    s_->cap = std::min(s_->cap, d);
    if (!s_->waiting) {
      start(s_, now);
    } else if (s_->deadline < s_->timer.expiry()) {
      s_->timer.expires_at(s_->deadline);  // aborts the wait; its handler waits again
    }
  }
  void disarm() { s_->deadline = Clock::time_point::max(); }
  // The timeout of one step (a read) of a phase that must end within `total` of `start`
  // (0 = no such limit, e.g. readTimeout) and make progress every `step`.
  static Clock::duration remaining(Clock::time_point start, Clock::duration total,
                                   Clock::duration step) {
    if (total <= Clock::duration::zero()) return step;
    return std::clamp<Clock::duration>(start + total - Clock::now(), Clock::duration::zero(), step);
  }
  bool expired() const { return s_->expired; }

 private:
  struct State {
    explicit State(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::duration cap = Clock::duration::max();
    tcp::socket* a = nullptr;
    tcp::socket* b = nullptr;
    bool expired = false;
    bool waiting = false;
    bool stopped = false;
  };

  static void start(std::shared_ptr<State> s, Clock::time_point now) {
    s->timer.expires_at(std::min(s->deadline, now + s->cap));
    s->waiting = true;
    auto& timer = s->timer;
    timer.async_wait([s = std::move(s)](error_code) mutable { fired(std::move(s)); });
  }

  // The timer fired or was moved earlier: expire, wait again, or (disarmed) stop until the
  // next arm().
  static void fired(std::shared_ptr<State> s) {
    s->waiting = false;
    if (s->stopped || s->deadline == Clock::time_point::max()) return;
    auto now = Clock::now();
    if (now < s->deadline) {
      start(std::move(s), now);
      return;
    }
    s->expired = true;
    s->deadline = Clock::time_point::max();
    error_code ignored;
    if (s->a) s->a->cancel(ignored);
    if (s->b) s->b->cancel(ignored);
  }

  std::shared_ptr<State> s_;
};

}  // namespace portier::proxy
