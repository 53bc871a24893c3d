#pragma once
// Active health checks (loadBalancer.healthCheck): runs on the control thread's io_context,
// probes every server of every service that asks for it, and flips ServerHealth flags that
// workers read. A new snapshot replaces the set of probes.
#include <algorithm>
#include <list>
#include <memory>

#include "core/task_group.hpp"
#include "proxy/asio.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {

class HealthChecker {
 public:
  explicit HealthChecker(asio::io_context& control) : io_(control) {}
  // Control thread: probe the services of `rc` from now on (previous probes are cancelled).
  void update(std::shared_ptr<const RuntimeConfig> rc);
  // Cancels every probe; idle() once they have unwound (core/task_group.hpp: the checker
  // must outlive its probes).
  void stop();
  bool idle() const;

 private:
  awaitable<void> probe_loop(std::shared_ptr<const RuntimeConfig> rc, size_t service, size_t server, uint64_t generation);
  awaitable<bool> probe_once(const ServiceRuntime& svc, const UpstreamServer& server);

  asio::io_context& io_;
  uint64_t generation_ = 0;
  bool stopped_ = false;
  // One group per update(): the last one probes, earlier ones are cancelled and unwinding.
  std::list<core::TaskGroup> probes_;
};

}  // namespace portier::proxy
