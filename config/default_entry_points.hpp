#pragma once
// asDefault: which entrypoints a router without entryPoints is attached to.
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"

namespace portier::config {

// Traefik's default entrypoints (cmd/traefik getDefaultsEntrypoints): those marked asDefault,
// or every one when none is; never a UDP one nor the one named "traefik". Sorted by name.
std::vector<std::string> default_entry_points(const StaticConfig& cfg);

// Gives the HTTP and TCP routers of `dyn` without entryPoints the default ones, as Traefik's
// mergeConfiguration does. When they are every non-UDP entrypoint, `dyn` is left as it is:
// an empty list already means every entrypoint that can carry the router.
void assign_default_entry_points(Dynamic& dyn, const StaticConfig& cfg);

}  // namespace portier::config
