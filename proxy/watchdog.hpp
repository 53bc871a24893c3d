#pragma once
// One timer per connection that enforces whichever deadline is current. Moving the deadline
// is a plain store (no timer syscall); the timer re-arms itself lazily when it fires early.
// When the deadline passes, the watched sockets are cancelled and expired() turns true.
// Owned by one session, used on that session's worker thread only. The timer coroutine
// shares the state, so destroying the Watchdog while the timer is pending is safe.
#include <chrono>
#include <memory>

#include "proxy/asio.hpp"

namespace portier::proxy {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Watchdog(asio::any_io_executor ex) : s_(std::make_shared<State>(ex)) {}
  ~Watchdog() {
    s_->stopped = true;
    s_->a = s_->b = nullptr;
    s_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void watch(tcp::socket* a, tcp::socket* b = nullptr) {
    s_->a = a;
    s_->b = b;
  }
  // Starts enforcing: the deadline is now + d.
  void arm(Clock::duration d) {
    s_->expired = false;
    s_->deadline = Clock::now() + d;
    if (!s_->running) {
      s_->running = true;
      asio::co_spawn(s_->timer.get_executor(), run(s_), asio::detached);
    } else if (s_->deadline < s_->timer.expiry()) {
      s_->timer.expires_at(s_->deadline);  // wakes run() early; it re-evaluates
    }
  }
  void disarm() { s_->deadline = Clock::time_point::max(); }
  bool expired() const { return s_->expired; }

 private:
  struct State {
    explicit State(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    tcp::socket* a = nullptr;
    tcp::socket* b = nullptr;
    bool expired = false;
    bool running = false;
    bool stopped = false;
  };

  static awaitable<void> run(std::shared_ptr<State> s) {
    while (!s->stopped) {
      auto next = s->deadline == Clock::time_point::max() ? Clock::now() + std::chrono::hours(1)
                                                          : s->deadline;
      s->timer.expires_at(next);
      auto [ec] = co_await s->timer.async_wait(use_tuple);
      if (s->stopped) break;
      if (Clock::now() >= s->deadline) {
        s->expired = true;
        s->deadline = Clock::time_point::max();
        error_code ignored;
        if (s->a) s->a->cancel(ignored);
        if (s->b) s->b->cancel(ignored);
      }
    }
  }

  std::shared_ptr<State> s_;
};

}  // namespace portier::proxy
