#pragma once
// Container labels -> dynamic configuration, with Traefik v3 docker-provider semantics plus
// the rediacc auto-routes and dynamic port requests. Pure: no I/O, any thread.
//
// Decisions where Traefik is silent or unhelpful (also in the docs):
// - Any bad label skips the whole container (one error per bad label); other containers are
//   untouched.
// - A container without any `traefik.` label and without a way to find a port is skipped
//   silently (Traefik would log "port is missing" for every such container).
// - A container that qualifies for an auto-route and has no `traefik.` label gets only the
//   auto-route, not also Traefik's default `Host(name)` router.
// - Containers that are not running, are paused, or whose health check is not "healthy"
//   contribute nothing (Traefik skips unhealthy containers the same way); with
//   allow_empty_services an unhealthy or starting container keeps its routers and services,
//   the services without servers (503), as Traefik's allowEmptyServices does.
// - A running container that would contribute something but does not match the constraints
//   contributes nothing, not even label errors; the fragment says why in `skipped` (an
//   information, not an error).
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "discovery/constraint_matcher.hpp"
#include "discovery/container_info.hpp"

namespace portier::discovery {

struct DecodeOptions {
  bool exposed_by_default = true;
  std::string default_rule = "Host(`{{ normalize .Name }}`)";
  std::string network;      // providers.docker.network: preferred network
  std::shared_ptr<const ConstraintMatcher> constraints;  // null = every container
  bool use_bind_port_ip = false;   // servers at the port binding's HostIp:HostPort when it has one
  bool allow_empty_services = false;
  std::string base_domain;  // infra.base_domain; "" disables auto-routes
  std::set<std::string> entry_points;    // known entrypoint names
  std::set<std::string> cert_resolvers;  // known resolver names
};

// A dynamic TCP/UDP port that a container asks for (rediacc.tcp_ports / udp_ports).
struct PortRequest {
  std::string network_id;
  std::string service;  // rediacc.service_name
  std::string proto;    // "tcp" or "udp"
  uint16_t port = 0;    // the container's port
  std::string service_ip;
  bool operator==(const PortRequest&) const = default;
};

struct ContainerFragment {
  config::Dynamic dynamic;  // bare names, provider "docker"
  std::vector<config::ConfigError> errors;
  std::vector<PortRequest> ports;
  bool enabled = false;  // contributed something (or would have, but for errors)
  std::string skipped;   // why a running container contributes nothing by design ("" = it does not)
};

// The `source` text of errors about this container: "container NAME on ENDPOINT".
std::string container_source(const ContainerInfo& c);

ContainerFragment decode_container(const ContainerInfo& container, const DecodeOptions& options);

}  // namespace portier::discovery
