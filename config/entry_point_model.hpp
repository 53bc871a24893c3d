#pragma once
// Traefik's entrypoint model (pkg/provider/traefik/internal.go entryPointModels, applied by
// pkg/server/aggregator.go applyModel): an HTTP router without a `tls` of its own takes, on
// each of its entrypoints that has `http.tls`, that entrypoint's certResolver, options and
// domains. A router with `tls` (even empty) keeps its own; TCP routers have no such model.
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"

namespace portier::config {

// Whether a router listing `entry_points` (empty: every entrypoint) is on the one named `name`.
bool router_on(const std::vector<std::string>& entry_points, const std::string& name);

// The tls `router` takes from the HTTP entrypoints it is on that have http.tls, one per such
// entrypoint (in name order); empty when the router has a tls of its own.
std::vector<RouterTls> entry_point_tls(const HttpRouter& router, const StaticConfig& cfg);

}  // namespace portier::config
