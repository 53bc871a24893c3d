#pragma once
// Traefik's JSON API (pkg/api: /api/overview, /api/entrypoints, /api/{http,tcp,udp}/..., 
// /api/rawdata, /api/version) and portier's /api/portier (what the dashboard shows beyond
// Traefik's resources), plus the dashboard page under /dashboard/. Pure functions of an
// ApiState that the application builds on the control thread; answer_api() may then run on any
// thread (the workers call it for api@internal).
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "proxy/internal_api.hpp"

namespace portier::app {

struct ApiState {
  // Traefik's runtime representation (traefik_runtime()): routers, middlewares, services,
  // tcpRouters, tcpMiddlewares, tcpServices, udpRouters, udpServices, each keyed by name.
  nlohmann::json runtime = nlohmann::json::object();
  nlohmann::json entry_points = nlohmann::json::array();  // [{name, address, ...}] by name
  nlohmann::json features = nlohmann::json::object();     // overview "features"
  nlohmann::json providers = nlohmann::json::array();     // overview "providers": ["Docker", "File"]
  nlohmann::json portier = nlohmann::json::object();      // /api/portier
  std::string version;
  std::string start_date;      // RFC 3339
  std::string dashboard_name;  // api.dashboardName
  bool dashboard = true;       // api.dashboard
};

// Traefik's RunTimeRepresentation from config::routes_json()'s output: each item in Traefik's
// shape ({"loadBalancer": {...}} for a service, {"<type>": {...}} for a middleware) with status
// "enabled" | "disabled", "error" (a list), "using" (a router's entrypoints), "usedBy" and
// "serverStatus" (url or address → "UP" | "DOWN").
nlohmann::json traefik_runtime(const nlohmann::json& routes);

// GET (or HEAD) `path`?`query`: the API's JSON (lists filtered by search/status/serviceName/
// middlewareName, sorted by sortBy/direction, paginated by per_page/page with X-Next-Page, as
// Traefik does) or the dashboard's files; 404 for other paths, 405 for other methods, 400 for
// a bad page.
proxy::ApiReply answer_api(const ApiState& state, std::string_view method, std::string_view path,
                           std::string_view query);

}  // namespace portier::app
