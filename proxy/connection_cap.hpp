#pragma once
// The open-connection cap of one HTTP entrypoint (entryPoints.NAME.portier.maxConnections),
// shared by the entrypoint's acceptors on every worker (HAProxy's maxconn): a connection is
// served once it holds a slot, so at most `limit` are served at a time; at the cap an acceptor
// holds the connection it just accepted and accepts no more (the kernel's backlog queues new
// connections) until a slot frees.
// Thread-safe (one atomic counter).
#include <atomic>
#include <string>
#include <utility>

namespace portier::proxy {

class ConnectionCap {
 public:
  ConnectionCap(std::string entry_point, int limit)
      : entry_point_(std::move(entry_point)), limit_(limit) {}
  // Takes a slot; false at the cap. The first refusal of an episode logs "entrypoint X:
  // connection cap N reached", the first success after it logs that accepting resumed.
  bool try_acquire();
  void release() { open_.fetch_sub(1, std::memory_order_acq_rel); }
  int limit() const { return limit_; }

 private:
  const std::string entry_point_;
  const int limit_;
  std::atomic<int> open_{0};
  std::atomic<bool> capped_{false};
};

// A slot of a ConnectionCap (none when default-constructed), released when destroyed.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(ConnectionCap* cap) : cap_(cap) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : cap_(std::exchange(o.cap_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    if (this != &o) {
      if (cap_) cap_->release();
      cap_ = std::exchange(o.cap_, nullptr);
    }
    return *this;
  }
  ~ConnectionSlot() {
    if (cap_) cap_->release();
  }

 private:
  ConnectionCap* cap_ = nullptr;
};

}  // namespace portier::proxy
