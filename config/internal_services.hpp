#pragma once
// Traefik's services named `NAME@internal` that a router may use as its service. portier has
// noop@internal (answers 418 with no body: the service of redirect-only routers, whose
// middleware answers first), ping@internal (what /ping answers, with a `ping` section) and
// prometheus@internal (the metrics, with `metrics.prometheus`) and api@internal (Traefik's JSON
// API under /api and the dashboard under /dashboard/, with the static `api` section). The others
// are refused with why.
#include <string>
#include <string_view>

namespace portier::config {

enum class InternalService { none, noop, ping, prometheus, api };

// Which internal service `name` is (`none` for every other name, internal or not).
InternalService internal_service(std::string_view name);
bool is_internal_name(std::string_view name);  // ends with "@internal"
// For an `@internal` name: "" when portier has it, else why not.
std::string internal_service_problem(std::string_view name);

}  // namespace portier::config
