#pragma once
// Rediacc conventions on top of Traefik labels: `rediacc.*` labels, the auto-route
// `{service}-{network_id}.{base_domain}`, and the routers of dynamic TCP/UDP ports.
// Pure functions, any thread.
#include <cstdint>
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "discovery/container_info.hpp"
#include "discovery/label_decoder.hpp"

namespace portier::discovery {

struct RediaccLabels {
  std::string service_name;
  std::string service_ip;
  std::string network_id;
  int service_port = 80;
  std::vector<uint16_t> tcp_ports;
  std::vector<uint16_t> udp_ports;
  // service_name, service_ip and network_id all present.
  bool complete() const { return !service_name.empty() && !service_ip.empty() && !network_id.empty(); }
};

// Reads `rediacc.*` labels; bad values become errors (label = the key).
RediaccLabels read_rediacc_labels(const ContainerInfo& c, std::vector<config::ConfigError>& errors);

// Adds router and service `{service}-{network_id}` (bare names). Precondition:
// labels.complete() and options.base_domain non-empty.
void add_auto_route(const RediaccLabels& labels, const DecodeOptions& options, config::Dynamic& out);

// Router/service name of a dynamic port: "{service}-{network_id}-tcp-{port}".
std::string port_route_name(const PortRequest& request);

// Adds a router `HostSNI(`*`)` on entrypoint tcp-{external} (or a UDP router on
// udp-{external}) and a service to {service_ip}:{port}.
void add_port_route(const PortRequest& request, uint16_t external, config::Dynamic& out);

}  // namespace portier::discovery
