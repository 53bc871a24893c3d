#pragma once
// Output forms of the dynamic configuration: /routes.json (SPEC 10) and the Traefik dynamic
// YAML served at /dynamic.yml. Pure functions; any thread.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/dynamic.hpp"
#include "config/dynamic_merge.hpp"

namespace portier::config {

// Runtime health of one server of a service, supplied by the caller (the proxy's health
// checker): nullopt = unknown, and the "healthy" field is omitted. `server` is the url (HTTP)
// or address (TCP/UDP) as in the model.
using ServerHealth =
    std::function<std::optional<bool>(const std::string& service, const std::string& server)>;

// {"http":{"routers","services","middlewares"},"tcp":{"routers","services"},
//  "udp":{"routers","services"},"errors":[...]}. Routers carry rule, entryPoints, service,
// middlewares, tls (only when set), priority, provider, status "enabled"|"disabled", and
// error (disabled only). Services carry "type" and the Traefik fields, servers with url or
// address, weight and (when `health` knows) healthy. Errors carry provider, source, label,
// message, and line when known.
nlohmann::json routes_json(const Merged& merged, const ServerHealth& health = {});

// The configuration in Traefik's dynamic format (camelCase keys, Go durations), as JSON.
// Only fields that differ from Traefik's defaults are written, plus every optional block that
// is present (so `tls: {}` survives). Names are mapped by export_name().
nlohmann::json traefik_json(const Dynamic& dynamic);

// Traefik's HTTP provider qualifies every name with "@http" itself and reads a name with '@'
// as a reference to another provider, so merged names are exported with '@' replaced by '-'
// ("whoami@docker" -> "whoami-docker"). References to names defined in `dynamic` are mapped
// the same way; references to names not defined here (Traefik built-ins such as
// "api@internal") and the global TLS options "default" are kept as they are.
std::string export_name(const std::string& name);

// traefik_json() as a YAML document (block style, strings double-quoted), for GET /dynamic.yml.
// parse_dynamic_yaml(dynamic_yaml(d)) gives back d for a fragment with bare names.
std::string dynamic_yaml(const Dynamic& dynamic);

}  // namespace portier::config
