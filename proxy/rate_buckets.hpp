#pragma once
// rateLimit's token buckets, one per source key, shared by every worker (a client spread over
// workers gets one budget). Thread-safe: 16 shards, each a mutex over a map with an LRU list;
// at most `capacity` keys (the least recently used bucket is forgotten, i.e. refilled).
// The algorithm is Go's golang.org/x/time/rate as Traefik uses it: a bucket holds up to `burst`
// tokens, refills at `rate` per second; a request takes one token, may wait up to max_delay for
// it, and is refused (without taking it) when the wait would be longer.
#include <array>
#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portier::proxy {

class RateBuckets {
 public:
  using Clock = std::chrono::steady_clock;
  RateBuckets(double rate, double burst, Clock::duration max_delay, size_t capacity = 65536);

  struct Decision {
    bool allowed = false;
    Clock::duration delay{};  // allowed: wait this long first; refused: until a token is there
  };
  Decision take(std::string_view key, Clock::time_point now);
  size_t size() const;  // keys held (tests)

 private:
  struct Bucket {
    std::string key;
    double tokens;
    Clock::time_point last;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Bucket> lru;  // most recent first
    std::unordered_map<std::string_view, std::list<Bucket>::iterator> index;  // keys in `lru`
  };
  Bucket& find(Shard& shard, std::string_view key, Clock::time_point now);

  const double rate_;
  const double burst_;
  const Clock::duration max_delay_;
  const size_t shard_capacity_;
  std::array<Shard, 16> shards_;
};

}  // namespace portier::proxy
