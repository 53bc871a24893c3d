#pragma once
// Reads `providers.docker` of the static file (Traefik v3's docker provider keys) into a
// DockerProvider, reporting every problem through `reader` with its path.
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/static_config.hpp"
#include "config/yaml_util.hpp"

namespace portier::config {

DockerProvider read_docker_provider(const YAML::Node& node, const std::string& path, YamlReader& reader);

}  // namespace portier::config
