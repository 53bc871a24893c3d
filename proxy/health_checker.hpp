#pragma once
// Active health checks (loadBalancer.healthCheck): runs on the control thread's io_context,
// probes every server of every service that asks for it, and flips ServerHealth flags that
// workers read. A new snapshot replaces the set of probes.
#include <memory>

#include "proxy/asio.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {

class HealthChecker {
 public:
  explicit HealthChecker(asio::io_context& control) : io_(control) {}
  // Control thread: probe the services of `rc` from now on (previous probes stop).
  void update(std::shared_ptr<const RuntimeConfig> rc);
  void stop() { ++generation_; }

 private:
  awaitable<void> probe_loop(std::shared_ptr<const RuntimeConfig> rc, size_t service, size_t server, uint64_t generation);
  awaitable<bool> probe_once(const ServiceRuntime& svc, const UpstreamServer& server);

  asio::io_context& io_;
  uint64_t generation_ = 0;
};

}  // namespace portier::proxy
