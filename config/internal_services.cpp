#include "config/internal_services.hpp"

namespace portier::config {

InternalService internal_service(std::string_view name) {
  if (name == "noop@internal") return InternalService::noop;
  if (name == "ping@internal") return InternalService::ping;
  if (name == "prometheus@internal") return InternalService::prometheus;
  if (name == "api@internal") return InternalService::api;
  return InternalService::none;
}

bool is_internal_name(std::string_view name) { return name.ends_with("@internal"); }

std::string internal_service_problem(std::string_view name) {
  const std::string quoted = "service \"" + std::string(name) + "\"";
  if (internal_service(name) != InternalService::none) return "";
  if (name == "dashboard@internal")
    return quoted + " is not supported: api@internal serves the dashboard under /dashboard/";
  if (name == "rest@internal") return quoted + " is not supported: portier has no REST provider";
  if (name == "acme-http@internal")
    return quoted + " is not supported: portier answers ACME DNS-01 challenges only";
  return quoted + " does not exist";
}

}  // namespace portier::config
