#pragma once
// What the label decoder needs to know about one container, whether it comes from a Docker
// daemon (inspect) or from a compose file (check --compose).
#include <map>
#include <string>
#include <vector>

namespace portier::discovery {

// NetworkSettings.Ports: the first host binding of a container port.
struct PortBinding {
  std::string host_ip;  // "" or "0.0.0.0" / "::" when bound to every address
  std::string host_port;
  bool operator==(const PortBinding&) const = default;
};

struct ContainerInfo {
  std::string id;
  std::string name;  // without Docker's leading '/'
  std::map<std::string, std::string> labels;
  std::string network_mode;                     // "host", "bridge", "none", "container:…", ""
  std::map<std::string, std::string> networks;  // network name -> IPv4 (else global IPv6) address ("" = none)
  std::map<int, PortBinding> port_bindings;     // container port (tcp, else udp) -> first binding
  std::vector<int> ports;                       // exposed container ports (tcp), ascending
  std::string state = "running";               // Docker State.Status
  std::string health;    // "" (no health check), "starting", "healthy", "unhealthy"
  std::string endpoint;  // daemon, "unix:///var/run/rediacc/docker-1.sock"; or the compose file
  bool operator==(const ContainerInfo&) const = default;
};

}  // namespace portier::discovery
