#pragma once
// Builds the API's ApiState (app/traefik_api.hpp) from what the application holds; control
// thread only (it reads the application's live state through the inputs).
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/traefik_api.hpp"
#include "config/static_config.hpp"
#include "discovery/docker_provider.hpp"

namespace portier::app {

struct ApiInputs {
  nlohmann::json routes;        // Application::routes_json()
  nlohmann::json certificates;  // Application::certificates_json()
  nlohmann::json ports;         // Application::ports_json()
  std::vector<discovery::EndpointStatus> docker;
  // Requests counted so far by entrypoint and by service; unset without metrics.prometheus.
  std::optional<std::map<std::string, uint64_t>> entry_point_requests, service_requests;
  std::string start_date;  // RFC 3339
};

ApiState build_api_state(const config::StaticConfig& cfg, ApiInputs in);

// Traefik's entrypoint representation: name, address, asDefault, transport timeouts, http
// (redirections, middlewares, tls), udp timeout. Sorted by name.
nlohmann::json entry_points_json(const config::StaticConfig& cfg);

}  // namespace portier::app
