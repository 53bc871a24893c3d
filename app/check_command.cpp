#include "app/check_command.hpp"

#include <iostream>

#include "config/dynamic_json.hpp"
#include "config/dynamic_merge.hpp"
#include "config/dynamic_yaml.hpp"
#include "config/rule.hpp"
#include "config/static_loader.hpp"
#include "core/atomic_file.hpp"
#include "discovery/compose_check.hpp"
#include "discovery/docker_provider.hpp"
#include "discovery/fragment_merge.hpp"
#include "proxy/middleware.hpp"
#include "proxy/tcp_gate.hpp"

namespace portier::app {

int run_check(const CommandLine& cl, const std::map<std::string, std::string>& env) {
  auto loaded = config::load_static_config_file(cl.config_path, cl.overrides, env);
  if (!loaded.ok()) {
    for (const auto& p : loaded.problems) std::cerr << "portier: " << p.to_string() << "\n";
    return 1;
  }
  std::map<std::string, config::Fragment> fragments;
  const auto& cfg = loaded.config;
  if (cfg.file && !cfg.file->filename.empty()) {
    std::string err;
    auto text = core::read_file(cfg.file->filename, &err);
    if (text) {
      fragments["file"] = config::parse_dynamic_yaml(*text, cfg.file->filename);
    } else {
      fragments["file"].errors.push_back({"file", cfg.file->filename, "", err});
    }
  }
  if (!cl.compose_files.empty()) {
    // The labels of every compose service, decoded as the docker provider would.
    auto docker_cfg = cfg;
    if (!docker_cfg.docker) docker_cfg.docker.emplace();
    auto decode = discovery::make_docker_options(docker_cfg).decode;
    std::vector<discovery::SourcedDynamic> parts;
    std::vector<config::ConfigError> errors;
    for (const auto& path : cl.compose_files) {
      auto r = discovery::check_compose_file(path, decode);
      parts.push_back({path, std::move(r.fragment.dynamic)});
      errors.insert(errors.end(), r.fragment.errors.begin(), r.fragment.errors.end());
    }
    fragments["docker"] = discovery::merge_fragments(parts, std::move(errors));
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
    std::cout << config::routes_json(merged).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& e : merged.errors)
      std::cout << e.source << (e.label.empty() ? "" : " " + e.label) << ": " << e.message << "\n";
    if (merged.errors.empty()) std::cout << cl.config_path << ": ok\n";
  }
  return merged.errors.empty() ? 0 : 1;
}

}  // namespace portier::app
