#include "app/check_command.hpp"

#include <iostream>

#include "config/default_entry_points.hpp"
#include "config/dynamic_json.hpp"
#include "config/dynamic_merge.hpp"
#include "config/dynamic_yaml.hpp"
#include "config/rule.hpp"
#include "config/static_loader.hpp"
#include "core/atomic_file.hpp"
#include "discovery/compose_check.hpp"
#include "discovery/docker_check.hpp"
#include "discovery/docker_provider.hpp"
#include "discovery/file_provider.hpp"
#include "discovery/fragment_merge.hpp"
#include "proxy/middleware.hpp"
#include "proxy/tcp_gate.hpp"

namespace portier::app {

int run_check(const CommandLine& cl, const std::map<std::string, std::string>& env) {
  auto loaded = config::load_static_config_file(cl.config_path, cl.overrides, env);
  for (const auto& w : loaded.warnings) std::cerr << "portier: warning: " << w.to_string() << "\n";
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems) std::cerr << "portier: " << p.to_string() << "\n";
    return 1;
  }
  std::map<std::string, config::Fragment> fragments;
  std::vector<config::ConfigError> skipped;  // containers the constraints leave out
  const auto& cfg = loaded.config;
  // The file provider's filename or directory, read as `run` reads it.
  if (cfg.file) fragments["file"] = discovery::read_file_config(*cfg.file).fragment;
  if (cl.docker && !cfg.docker) {
    std::cerr << "portier: --docker: providers.docker is not configured\n";
    return 1;
  }
  if (!cl.compose_files.empty() || cl.docker) {
    // The labels of every compose service and of every running container, decoded as the
    // docker provider would.
    auto docker_cfg = cfg;
    if (!docker_cfg.docker) docker_cfg.docker.emplace();
    auto options = discovery::make_docker_options(docker_cfg);
    discovery::DaemonContainers labels;
    if (cl.docker) labels = discovery::check_docker_daemons(options);
    for (const auto& path : cl.compose_files) {
      auto r = discovery::check_compose_file(path, options.decode);
      labels.parts.push_back({path, std::move(r.fragment.dynamic)});
      labels.errors.insert(labels.errors.end(), r.fragment.errors.begin(), r.fragment.errors.end());
      labels.skipped.insert(labels.skipped.end(), r.skipped.begin(), r.skipped.end());
    }
    fragments["docker"] = discovery::merge_fragments(labels.parts, std::move(labels.errors));
    skipped = std::move(labels.skipped);
  }
  std::map<std::string, const config::Fragment*> inputs;
  for (const auto& [k, v] : fragments) inputs[k] = &v;
  std::set<std::string> entry_points;
  for (const auto& [name, ep] : cfg.entry_points) entry_points.insert(name);
  auto merged = config::merge_providers(
      inputs, [](std::string_view rule, bool tcp) {
        return config::parse_rule(rule, tcp ? config::RuleKind::tcp : config::RuleKind::http).error;
      },
      entry_points);
  config::assign_default_entry_points(merged.dynamic, cfg);
  // Values the decoders cannot judge alone (a CIDR, an htpasswd line, a status code) are checked
  // by building each middleware as `portier run` would.
  for (const auto& [name, mw] : merged.dynamic.http.middlewares) {
    if (std::holds_alternative<config::ChainMw>(mw.spec)) continue;
    std::string error;
    if (!proxy::make_middleware(mw.spec, &error))
      merged.errors.push_back({mw.provider, mw.provider, "http.middlewares." + name, error});
  }
  for (const auto& [name, mw] : merged.dynamic.tcp.middlewares) {
    std::string error;
    if (!proxy::TcpGate::make({name}, merged.dynamic.tcp.middlewares, &error))
      merged.errors.push_back({mw.provider, mw.provider, "tcp.middlewares." + name, error});
  }
  if (cl.format == "json") {
    auto j = config::routes_json(merged);
    j["skipped"] = nlohmann::json::array();
    for (const auto& e : skipped) j["skipped"].push_back({{"provider", e.provider}, {"source", e.source}, {"message", e.message}});
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& e : skipped) std::cout << "info: " << e.source << ": left out, " << e.message << "\n";
    for (const auto& e : merged.errors)
      std::cout << e.source << (e.label.empty() ? "" : " " + e.label) << ": " << e.message
                << (e.line > 0 ? " (line " + std::to_string(e.line) + ")" : "") << "\n";
    if (merged.errors.empty()) std::cout << cl.config_path << ": ok\n";
  }
  return merged.errors.empty() ? 0 : 1;
}

}  // namespace portier::app
