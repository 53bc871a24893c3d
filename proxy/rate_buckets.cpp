#include "proxy/rate_buckets.hpp"

#include <algorithm>
#include <functional>

namespace portier::proxy {

RateBuckets::RateBuckets(double rate, double burst, Clock::duration max_delay, size_t capacity)
    : rate_(rate),
      burst_(burst),
      max_delay_(max_delay),
      shard_capacity_(std::max<size_t>(1, capacity / 16)) {}

RateBuckets::Bucket& RateBuckets::find(Shard& shard, std::string_view key, Clock::time_point now) {
  if (auto it = shard.index.find(key); it != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return shard.lru.front();
  }
  if (shard.lru.size() >= shard_capacity_) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
  }
  shard.lru.push_front(Bucket{std::string(key), burst_, now});
  shard.index.emplace(shard.lru.front().key, shard.lru.begin());
  return shard.lru.front();
}

RateBuckets::Decision RateBuckets::take(std::string_view key, Clock::time_point now) {
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % shards_.size()];
  std::lock_guard lock(shard.mu);
  Bucket& b = find(shard, key, now);
  if (now > b.last) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.last = now;
  }
  double after = b.tokens - 1;
  Decision d;
  if (after < 0)
    d.delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-after / rate_));
  d.allowed = d.delay <= max_delay_;
  if (d.allowed) b.tokens = after;
  return d;
}

size_t RateBuckets::size() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

}  // namespace portier::proxy
