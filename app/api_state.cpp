#include "app/api_state.hpp"

#include "app/version.hpp"
#include "config/dynamic_schema.hpp"

namespace portier::app {

using nlohmann::json;

namespace {

json entry_point_json(const config::EntryPoint& ep) {
  using config::format_duration;
  json j{{"name", ep.name}, {"address", ep.address}};
  if (ep.protocol == config::EntryPoint::Protocol::udp) {
    j["udp"] = {{"timeout", format_duration(ep.udp_timeout)}};
    return j;
  }
  if (ep.as_default) j["asDefault"] = true;
  j["transport"] = {{"lifeCycle", {{"requestAcceptGraceTimeout", format_duration(ep.request_accept_grace)},
                                   {"graceTimeOut", format_duration(ep.grace_timeout)}}},
                    {"respondingTimeouts", {{"readTimeout", format_duration(ep.read_timeout)},
                                            {"writeTimeout", format_duration(ep.write_timeout)},
                                            {"idleTimeout", format_duration(ep.idle_timeout)}}}};
  json http = json::object();
  if (ep.redirection)
    http["redirections"]["entryPoint"] = {{"to", ep.redirection->to},
                                          {"scheme", ep.redirection->scheme},
                                          {"permanent", ep.redirection->permanent}};
  if (!ep.middlewares.empty()) http["middlewares"] = ep.middlewares;
  if (ep.tls) {
    http["tls"] = json::object();
    if (!ep.tls_cert_resolver.empty()) http["tls"]["certResolver"] = ep.tls_cert_resolver;
    if (!ep.tls_options.empty()) http["tls"]["options"] = ep.tls_options;
    for (const auto& d : ep.tls_domains) {
      json domain = {{"main", d.main}};
      if (!d.sans.empty()) domain["sans"] = d.sans;
      http["tls"]["domains"].push_back(std::move(domain));
    }
  }
  j["http"] = http;
  return j;
}

// Each daemon with its running containers, each with the label errors of its source.
json docker_json(const std::vector<discovery::EndpointStatus>& daemons, const json& errors) {
  json out = json::array();
  for (const auto& d : daemons) {
    json containers = json::array();
    for (const auto& c : d.listed) {
      const std::string source = "container " + c.name + " on " + c.endpoint;
      json mine = json::array();
      for (const auto& e : errors)
        if (e.value("provider", "") == "docker" && e.value("source", "") == source)
          mine.push_back({{"label", e.value("label", "")}, {"message", e.value("message", "")}});
      containers.push_back({{"name", c.name}, {"state", c.state}, {"health", c.health}, {"errors", mine}});
    }
    out.push_back({{"endpoint", d.endpoint}, {"status", d.status}, {"containers", containers}});
  }
  return out;
}

}  // namespace

json entry_points_json(const config::StaticConfig& cfg) {
  json out = json::array();
  for (const auto& [name, ep] : cfg.entry_points) out.push_back(entry_point_json(ep));  // a std::map: by name
  return out;
}

ApiState build_api_state(const config::StaticConfig& cfg, ApiInputs in) {
  ApiState s;
  s.runtime = traefik_runtime(in.routes);
  s.entry_points = entry_points_json(cfg);
  s.features = {{"tracing", ""}, {"metrics", cfg.prometheus.enabled ? "Prometheus" : ""},
                {"accessLog", cfg.access_log.enabled}};
  if (cfg.docker) s.providers.push_back("Docker");
  if (cfg.file) s.providers.push_back("File");
  const json errors = in.routes.value("errors", json::array());
  s.portier = {{"docker", docker_json(in.docker, errors)},
               {"certificates", std::move(in.certificates)},
               {"ports", std::move(in.ports)},
               {"errors", errors},
               {"requests", nullptr}};
  if (in.entry_point_requests && in.service_requests)
    s.portier["requests"] = {{"entrypoints", *in.entry_point_requests}, {"services", *in.service_requests}};
  s.version = kVersion;
  s.start_date = std::move(in.start_date);
  s.dashboard_name = cfg.api.dashboard_name;
  s.dashboard = cfg.api.dashboard;
  return s;
}

}  // namespace portier::app
