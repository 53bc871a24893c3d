#pragma once
// The docker provider: follows every Docker daemon matching the endpoint globs, turns their
// running containers into one merged config::Fragment (plus the dynamic port table), and
// reports it through on_change whenever it changes.
//
// Per daemon: list + inspect, then follow /events; start/unpause/health events are applied
// at once; kill/stop/pause/die/destroy remove the container's servers at once (before it
// dies); a full re-list on every (re)connect and every relist_interval. A daemon that goes
// away keeps its last known containers for the grace period while portier reconnects with
// backoff. Endpoint globs are re-scanned every rescan_interval.
//
// Thread: everything runs on the one io_context given (the control thread); on_change is
// called there. Lifetime (core/task_group.hpp): every coroutine belongs to tasks_ and may
// touch the provider whenever it resumes, so the owner calls stop(), keeps running the
// io_context until idle(), and only then destroys the provider and the io_context.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"
#include "core/http_client.hpp"
#include "core/task_group.hpp"
#include "discovery/docker_client.hpp"
#include "discovery/label_decoder.hpp"
#include "discovery/port_allocator.hpp"

namespace portier::discovery {

struct DockerProviderOptions {
  std::vector<std::string> endpoints;  // unix:// globs, unix:// paths, tcp:// addresses
  DecodeOptions decode;
  std::string ports_file;  // {state}/ports.json
  uint16_t dynamic_first = 0, dynamic_last = 0;
  std::chrono::milliseconds grace{60000};
  std::chrono::milliseconds relist_interval{30000};
  std::chrono::milliseconds rescan_interval{1000};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{5000};
  core::HttpClientOptions http{.connect_timeout = std::chrono::milliseconds(3000), .request_timeout = std::chrono::milliseconds(10000)};
  bool watch = true;  // false: each daemon is listed once when first reached; no events, no re-list
};

// Options from the static configuration: providers.docker (endpoints, exposedByDefault,
// defaultRule, network, constraints, useBindPortIP, allowEmptyServices, watch,
// httpClientTimeout, tls, grace), infra (base_domain, dynamic_tcp_ports), the entrypoint and
// resolver names, and {state}/ports.json. Precondition: config.docker is set.
DockerProviderOptions make_docker_options(const config::StaticConfig& config);

// One entry of /health "providers".
struct EndpointStatus {
  std::string endpoint;
  std::string status;  // "connected" | "reconnecting" | "read" (watch: false, listed once)
  std::size_t containers = 0;
  // As of the last recompute: containers whose labels gave configuration, containers skipped
  // for a label error; events received since the provider started following the daemon.
  std::size_t routed = 0, label_errors = 0;
  uint64_t events = 0;
  std::vector<ContainerInfo> listed;  // its running containers, by id (for the dashboard)
  bool operator==(const EndpointStatus&) const = default;
};

class DockerProvider {
 public:
  using OnChange = std::function<void(const config::Fragment&, const PortsView&)>;

  DockerProvider(boost::asio::any_io_executor executor, DockerProviderOptions options, OnChange on_change,
                 PortAllocator::Clock clock = {});
  ~DockerProvider();

  void start();  // spawns the scan loop; the first on_change comes at once (possibly empty)
  void stop();   // cancels every stream, timer and coroutine; idle() soon after
  bool idle() const { return tasks_.empty(); }  // no coroutine of the provider is left

  std::vector<EndpointStatus> status() const;
  const config::Fragment& fragment() const { return fragment_; }
  // Running containers left out by design (constraints), each with why; not errors.
  const std::vector<config::ConfigError>& skipped() const { return skipped_; }
  const PortsView& ports() const { return ports_; }
  // "" or why {state}/ports.json could not be written (retried at each change and re-list).
  const std::string& ports_save_error() const { return ports_alloc_.save_error(); }
  const std::string& ports_file() const { return options_.ports_file; }

  // Expands globs now: the matching unix sockets, plus every non-glob endpoint as given.
  static std::vector<std::string> expand_endpoints(const std::vector<std::string>& patterns);

 private:
  struct Daemon;
  using DaemonPtr = std::shared_ptr<Daemon>;

  boost::asio::awaitable<void> scan_loop();
  boost::asio::awaitable<void> run_daemon(DaemonPtr d);
  boost::asio::awaitable<void> relist_loop(DaemonPtr d, uint64_t epoch);
  boost::asio::awaitable<bool> relist(DaemonPtr d);
  boost::asio::awaitable<void> apply_event(DaemonPtr d, DockerEvent e, uint64_t epoch);
  void scan();
  void expire_lost();
  void recompute();
  void note_skipped(std::vector<config::ConfigError> skipped);

  boost::asio::any_io_executor executor_;
  DockerProviderOptions options_;
  OnChange on_change_;
  PortAllocator ports_alloc_;
  boost::asio::steady_timer scan_timer_;
  std::map<std::string, DaemonPtr> daemons_;  // by endpoint
  bool stopped_ = false;
  std::optional<config::Fragment> last_;
  config::Fragment fragment_;
  PortsView ports_;
  std::set<std::string> logged_errors_;
  std::vector<config::ConfigError> skipped_;
  std::set<std::string> logged_skipped_;
  core::TaskGroup tasks_;  // last member: cancelled first on destruction
};

}  // namespace portier::discovery
