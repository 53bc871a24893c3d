#include "proxy/connection_cap.hpp"

#include "core/log.hpp"

namespace portier::proxy {

bool ConnectionCap::try_acquire() {
  int open = open_.load(std::memory_order_acquire);
  while (open < limit_) {
    if (open_.compare_exchange_weak(open, open + 1, std::memory_order_acq_rel)) {
      if (capped_.load(std::memory_order_relaxed) && capped_.exchange(false))
        core::log_info("entrypoint ", entry_point_, ": below connection cap ", limit_,
                       ", accepting again");
      return true;
    }
  }
  if (!capped_.exchange(true))
    core::log_warn("entrypoint ", entry_point_, ": connection cap ", limit_, " reached");
  return false;
}

}  // namespace portier::proxy
