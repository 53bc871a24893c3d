#pragma once
// The static file's default transports: the root `serversTransport` (the transport of HTTP
// services that name none) and `tcpServersTransport` (Traefik's `default@internal` TCP
// transport). Traefik copies only some of their keys into the dynamic transport it builds;
// the keys it copies are read here, the others are refused by name.
#include <yaml-cpp/yaml.h>

#include "config/dynamic.hpp"
#include "config/yaml_util.hpp"

namespace portier::config {

void read_servers_transport(const YAML::Node& v, YamlReader& r, ServersTransport& out);
void read_tcp_servers_transport(const YAML::Node& v, YamlReader& r, TcpServersTransport& out);

}  // namespace portier::config
