#include "proxy/in_flight_counter.hpp"

#include <functional>

namespace portier::proxy {

class InFlightHold final : public RequestHold {
 public:
  InFlightHold(std::shared_ptr<InFlightCounter> counter, std::string key)
      : counter_(std::move(counter)), key_(std::move(key)) {}
  ~InFlightHold() override { counter_->release(key_); }

 private:
  std::shared_ptr<InFlightCounter> counter_;
  std::string key_;
};

InFlightCounter::Shard& InFlightCounter::shard(const std::string& key) const {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

std::unique_ptr<RequestHold> InFlightCounter::acquire(std::string key) {
  Shard& s = shard(key);
  {
    std::lock_guard lock(s.mu);
    int64_t& n = s.count[key];
    if (n >= amount_) {
      if (n == 0) s.count.erase(key);
      return nullptr;
    }
    ++n;
  }
  return std::make_unique<InFlightHold>(shared_from_this(), std::move(key));
}

void InFlightCounter::release(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.count.find(key);
  if (it != s.count.end() && --it->second <= 0) s.count.erase(it);
}

int64_t InFlightCounter::in_flight(const std::string& key) const {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.count.find(key);
  return it == s.count.end() ? 0 : it->second;
}

}  // namespace portier::proxy
