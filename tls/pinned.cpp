#include "tls/pinned.hpp"

#include <atomic>

namespace portier::tls {

uint64_t next_pin_owner_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace portier::tls
