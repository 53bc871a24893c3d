#pragma once
// The composition root of `portier run`: providers -> merged dynamic configuration ->
// compiled snapshot -> proxy workers; diagnostics; signals and draining.
// Everything here runs on the control thread (the thread that calls run()).
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "acme/acme_manager.hpp"
#include "app/api_state.hpp"
#include "app/diagnostics_server.hpp"
#include "app/live_upgrade.hpp"
#include "app/ocsp_refresher.hpp"
#include "config/dynamic_merge.hpp"
#include "config/dynamic_yaml.hpp"
#include "config/static_config.hpp"
#include "discovery/docker_provider.hpp"
#include "discovery/file_provider.hpp"
#include "proxy/health_checker.hpp"
#include "proxy/proxy_server.hpp"
#include "tls/acme_challenges.hpp"
#include "tls/cert_store.hpp"
#include "tls/ticket_keys.hpp"

namespace portier::app {

class Application {
 public:
  // `command`: this process's binary and arguments, which a live upgrade starts again.
  Application(config::StaticConfig cfg, std::map<std::string, std::string> env,
              std::vector<std::string> command = {});
  ~Application();
  // Serves until SIGTERM/SIGINT, then drains. Returns the process exit code.
  int run();

 private:
  void on_fragment(const std::string& provider, config::Fragment fragment);
  void rebuild();
  std::string check_rule(std::string_view rule, bool tcp);
  void rebuild_tls(const config::Dynamic& dyn, std::vector<std::string>& problems);
  void rotate_ticket_keys();
  void install_diagnostics();
  void begin_shutdown();
  void begin_drain();  // closes the listeners, then wait_drained() for graceTimeOut
  proxy::awaitable<UpgradeResult> upgrade();
  proxy::awaitable<void> upgrade_then_drain();
  proxy::awaitable<DiagResponse> upgrade_request();
  static constexpr std::chrono::seconds kUpgradeTimeout{30};
  void wait_drained(std::chrono::steady_clock::time_point deadline);
  void stop_control_components();
  std::string control_busy() const;
  void wait_control_idle(std::chrono::steady_clock::time_point deadline);
  void after(std::chrono::milliseconds delay, std::function<void()> then);  // control thread timer
  static constexpr std::chrono::seconds kControlUnwind{5};
  nlohmann::json health_json() const;
  nlohmann::json routes_json() const;
  nlohmann::json ports_json() const;
  nlohmann::json certificates_json() const;
  void start_acme();
  void start_providers();
  std::string http_entry_points_summary() const;
  void log_inherited_sockets() const;
  std::string control_metrics() const;
  // metrics.prometheus: the control thread's series, published to the data plane each second.
  void publish_control_metrics();
  // The JSON API's and the dashboard's state (app/api_state.hpp), now.
  ApiState api_state() const;
  // api@internal and api.insecure: the API's state, published to the data plane each second
  // while a router or the `traefik` entrypoint serves it.
  void publish_api();

  config::StaticConfig cfg_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> command_;
  boost::asio::io_context control_{1};
  core::TaskGroup upgrades_{control_.get_executor(), "upgrade"};
  bool upgrading_ = false;
  bool handed_over_ = false;  // a live upgrade's successor serves: drain quietly
  boost::asio::signal_set signals_{control_};
  core::InheritedSockets inherited_;  // systemd socket activation; outlives proxy_
  tls::AcmeChallenges acme_challenges_;  // HTTP-01/TLS-ALPN-01 answers; outlives proxy_ and acme_
  std::unique_ptr<proxy::ProxyServer> proxy_;
  proxy::HealthRegistry health_registry_;
  proxy::CompileCache compile_cache_;  // compiled rules and services kept across rebuilds
  tls::CertStore cert_store_;
  std::shared_ptr<tls::TicketKeyRing> ticket_keys_ = std::make_shared<tls::TicketKeyRing>();
  boost::asio::steady_timer ticket_timer_{control_};
  proxy::HealthChecker health_checker_{control_};
  DiagnosticsServer diagnostics_{control_};
  std::unique_ptr<discovery::FileProvider> file_provider_;
  std::unique_ptr<discovery::DockerProvider> docker_provider_;
  discovery::PortsView ports_;
  std::unique_ptr<acme::AcmeManager> acme_;  // when certificatesResolvers are configured
  std::unique_ptr<OcspRefresher> ocsp_;      // unless ocsp.enabled is false

  std::map<std::string, config::Fragment> fragments_;  // provider -> fragment in use (+ latest errors)
  std::set<std::string> loaded_clean_;                 // providers that delivered an error-free fragment
  config::Merged merged_;
  struct RuleCheck {
    std::string error;   // "" = valid
    uint64_t merge = 0;  // last merge that asked
  };
  // Looked up by string_view (no key copied per router and rebuild).
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using RuleChecks = std::unordered_map<std::string, RuleCheck, TextHash, std::equal_to<>>;
  RuleChecks rule_checks_[2];  // [tcp]: rule text -> check
  uint64_t merges_ = 0;
  uint64_t reloads_ = 0;              // snapshots applied (traefik_config_reloads_total)
  double last_reload_success_ = 0;    // unix seconds
  std::vector<config::ConfigError> compile_errors_;
  std::shared_ptr<const proxy::RuntimeConfig> runtime_;
  // Cost of the last applied snapshot (GET /health "last_snapshot"): merge of the providers'
  // fragments, compile_runtime + compile_tcp_runtime, build = merge + compile + TLS context,
  // publish = the atomic swaps. generation counts applied snapshots (the empty one at start is 1).
  struct SnapshotCost {
    size_t routers = 0;
    double merge_ms = 0, compile_ms = 0, build_ms = 0, publish_ms = 0;
    uint64_t generation = 0;
  } last_snapshot_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  int exit_code_ = 0;
  bool stopping_ = false;
};

}  // namespace portier::app
