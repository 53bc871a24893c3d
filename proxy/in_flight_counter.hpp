#pragma once
// inFlightReq's counters: requests in flight per source key, shared by every worker. A key lives
// while it has a request in flight, so memory follows the concurrency. Thread-safe (16 mutex
// shards); holds may be released on any thread and outlive the snapshot that made the counter.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proxy/middleware.hpp"

namespace portier::proxy {

class InFlightCounter : public std::enable_shared_from_this<InFlightCounter> {
 public:
  explicit InFlightCounter(int64_t amount) : amount_(amount) {}
  // A hold on one of `amount` slots of `key`, released by its destruction; null when all are
  // taken.
  std::unique_ptr<RequestHold> acquire(std::string key);
  int64_t in_flight(const std::string& key) const;

 private:
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, int64_t> count;
  };
  Shard& shard(const std::string& key) const;
  void release(const std::string& key);

  const int64_t amount_;
  mutable std::array<Shard, 16> shards_;
  friend class InFlightHold;
};

}  // namespace portier::proxy
