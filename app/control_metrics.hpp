#pragma once
// The Prometheus series the control thread knows (Traefik's config, TLS and server-health
// families, and portier's own), rendered on the control thread and published to the data
// plane's /metrics (Observability::publish_extra) and served on the diagnostics /metrics.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "acme/acme_manager.hpp"
#include "discovery/docker_provider.hpp"
#include "proxy/runtime_config.hpp"
#include "tls/cert_store.hpp"

namespace portier::app {

struct ControlMetrics {
  uint64_t reloads = 0;                 // configurations applied
  double last_reload_success = 0;       // unix seconds of the last one
  double last_build_seconds = 0;        // merge + compile + TLS of the last snapshot
  uint64_t generation = 0;
  size_t config_errors = 0;
  size_t routers = 0;
  size_t tcp_ports = 0, udp_ports = 0;  // dynamic port allocations
  const tls::CertStore* certs = nullptr;
  const proxy::RuntimeConfig* runtime = nullptr;  // traefik_service_server_up
  bool docker = false;                              // the Docker provider is on
  std::vector<discovery::EndpointStatus> daemons;   // portier_docker_*
  std::vector<acme::OrderCounts> acme;              // portier_acme_*, one per resolver
};

std::string render_control_metrics(const ControlMetrics& m);

}  // namespace portier::app
