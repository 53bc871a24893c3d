#pragma once
// Readers of the static observability blocks (`accessLog`, `metrics`, `ping`, `log`), with
// Traefik's keys, defaults and semantics; used by the static loader's section reader.
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/static_config.hpp"
#include "config/yaml_util.hpp"
#include "core/error.hpp"

namespace portier::config {

void read_access_log(const YAML::Node& v, YamlReader& r, AccessLogConfig& out);
void read_metrics(const YAML::Node& v, YamlReader& r, PrometheusConfig& out);
void read_ping(const YAML::Node& v, YamlReader& r, PingConfig& out);
void read_api(const YAML::Node& v, YamlReader& r, ApiConfig& out);
void read_log(const YAML::Node& v, YamlReader& r, LogConfig& out);

// Traefik creates an entrypoint `traefik` on ":8080" when ping or metrics.prometheus use it
// (their default) or api.insecure is set, and the configuration has none; after that, each must
// name an existing TCP entrypoint (problems at `ping.entryPoint`, `metrics.prometheus.entryPoint`).
void apply_internal_entry_point(StaticConfig& c, core::Problems& problems);

// "200", "400-499" → {200,200}, {400,499} (Traefik's HTTPCodeRanges); nullopt when malformed.
std::optional<std::pair<int, int>> parse_status_range(std::string_view text);

}  // namespace portier::config
