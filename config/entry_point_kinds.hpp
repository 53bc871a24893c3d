#pragma once
// Entrypoint keys that would do nothing on the entrypoint's kind are errors, so a file never
// promises what portier does not do. tcp-* entrypoints carry TCP routers only: the HTTP keys
// (http, http2, forwardedHeaders, the keep-alive limits, respondingTimeouts' read and write
// timeouts) have no effect there, while idleTimeout (the TCP idle timeout), lifeCycle,
// proxyProtocol, allowACMEByPass and asDefault do. UDP entrypoints use only address,
// udp.timeout, lifeCycle and asDefault. `udp` has no effect on a TCP entrypoint.
#include <string>

#include <yaml-cpp/yaml.h>

#include "config/static_config.hpp"
#include "config/yaml_util.hpp"

namespace portier::config {

// Reports each such key of `v` (the map of entryPoints.NAME at `path`) into `reader`, for the
// kind of `ep` (its name and protocol already read).
void check_entry_point_kind(const YAML::Node& v, const std::string& path, const EntryPoint& ep,
                            YamlReader& reader);

}  // namespace portier::config
