// rateLimit's buckets (Go's x/time/rate as Traefik uses it) and inFlightReq's counters: exact
// budgets, one budget for a key used from several threads, bounded memory.
#include <catch2/catch.hpp>
#include <atomic>
#include <thread>
#include <vector>

#include "proxy/in_flight_counter.hpp"
#include "proxy/rate_buckets.hpp"

using namespace portier::proxy;
using namespace std::chrono_literals;

namespace {
bool near(RateBuckets::Clock::duration a, RateBuckets::Clock::duration b) {
  return (a > b ? a - b : b - a) < 1us;
}
}  // namespace

TEST_CASE("rate buckets: a burst, then the average; a short wait is allowed", "[ratelimit]") {
  RateBuckets b(100, 50, 5ms);
  auto t0 = RateBuckets::Clock::now();
  for (int i = 0; i < 50; ++i) REQUIRE(b.take("a", t0).allowed);
  auto d = b.take("a", t0);  // empty: the next token is 10 ms away, over max_delay
  CHECK_FALSE(d.allowed);
  CHECK(near(d.delay, 10ms));
  CHECK(b.take("b", t0).allowed);  // another source has its own bucket
  auto w = b.take("a", t0 + 6ms);  // 0.6 token: 4 ms to wait, within max_delay
  CHECK(w.allowed);
  CHECK(near(w.delay, 4ms));
  CHECK_FALSE(b.take("a", t0 + 10ms).allowed);  // the wait was paid for: still in debt
  // One second later: 100 more tokens, capped at the burst.
  int served = 0;
  for (int i = 0; i < 200; ++i) served += b.take("a", t0 + 2s).allowed;
  CHECK(served == 50);
}

TEST_CASE("rate buckets: threads sharing a key share one budget", "[ratelimit]") {
  RateBuckets b(1, 1000, 0ms);
  auto t0 = RateBuckets::Clock::now();
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) served += b.take("k", t0).allowed;
    });
  for (auto& t : threads) t.join();
  CHECK(served == 1000);
}

TEST_CASE("rate buckets: the least recently used sources are forgotten past capacity",
          "[ratelimit]") {
  RateBuckets b(1, 1, 0ms, 160);
  auto t0 = RateBuckets::Clock::now();
  for (int i = 0; i < 10000; ++i) b.take("src" + std::to_string(i), t0);
  CHECK(b.size() <= 160);
  CHECK(b.size() >= 100);
}

TEST_CASE("in-flight counter: amount slots per key, released with the hold", "[inflight]") {
  auto c = std::make_shared<InFlightCounter>(2);
  auto a1 = c->acquire("a");
  auto a2 = c->acquire("a");
  REQUIRE(a1);
  REQUIRE(a2);
  CHECK_FALSE(c->acquire("a"));
  CHECK(c->acquire("b"));  // released at once
  CHECK(c->in_flight("b") == 0);
  a1.reset();
  CHECK(c->in_flight("a") == 1);
  auto a3 = c->acquire("a");
  CHECK(a3);
  a2.reset();
  a3.reset();
  CHECK(c->in_flight("a") == 0);
}
