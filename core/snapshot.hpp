#pragma once
// Snapshot<T>: an immutable value published by the control thread and read by workers.
// Readers keep a cached shared_ptr and refresh it only when the generation moved, so the
// hot path costs one relaxed atomic load.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace portier::core {

template <class T>
class Snapshot {
 public:
  using Ptr = std::shared_ptr<const T>;

  // Control thread: publish a new value. In-flight users keep the one they pinned.
  void publish(Ptr value) {
    {
      std::lock_guard lock(mutex_);
      value_ = std::move(value);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }

  Ptr load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Per-thread cache of the current value; not shareable between threads.
  class Reader {
   public:
    explicit Reader(const Snapshot& s) : source_(&s) {}
    const Ptr& get() {
      uint64_t g = source_->generation();
      if (g != seen_ || !cached_) {
        cached_ = source_->load();
        seen_ = g;
      }
      return cached_;
    }

   private:
    const Snapshot* source_;
    Ptr cached_;
    uint64_t seen_ = ~uint64_t{0};
  };

 private:
  mutable std::mutex mutex_;
  Ptr value_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace portier::core
