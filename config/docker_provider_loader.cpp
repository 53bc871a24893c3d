#include "config/docker_provider_loader.hpp"

#include "config/rule.hpp"
#include "config/static_loader.hpp"

namespace portier::config {
namespace {

using YAML::Node;

void report(YamlReader& r, const Node& map, const std::string& path, std::string_view key, std::string message) {
  auto [k, v] = YamlReader::find(map, key);
  r.error(child_path(path, key), std::move(message), k, v);
}

std::vector<std::string> read_endpoints(const Node& v, const std::string& path, YamlReader& r) {
  std::string single;
  std::vector<std::string> list;
  if (r.get(v, "endpoint", path, single) && !single.empty()) list.push_back(single);
  std::vector<std::string> many;
  if (r.get(v, "endpoints", path, many)) list.insert(list.end(), many.begin(), many.end());
  const char* key = YamlReader::find(v, "endpoints").first.IsDefined() ? "endpoints" : "endpoint";
  for (const auto& e : list)
    if (e.rfind("unix://", 0) != 0 && e.rfind("tcp://", 0) != 0)
      report(r, v, path, key, "invalid endpoint \"" + e + "\" (unix:///path.sock or tcp://host:port)");
  return list.empty() ? default_docker_endpoints() : list;
}

std::optional<DockerTls> read_tls(const Node& map, const std::string& parent, YamlReader& r,
                                  const std::vector<std::string>& endpoints) {
  auto [k, v] = YamlReader::find(map, "tls");
  const std::string path = child_path(parent, "tls");
  if (!k.IsDefined() || !r.expect_map(v, path, k)) return std::nullopt;
  r.check_keys(v, path, {"ca", "cert", "key", "insecureSkipVerify"},
               {{"caOptional", "deprecated in Traefik; the daemon's certificate is always verified "
                               "unless insecureSkipVerify"}});
  DockerTls tls;
  r.get(v, "ca", path, tls.ca);
  r.get(v, "cert", path, tls.cert);
  r.get(v, "key", path, tls.key);
  r.get(v, "insecureSkipVerify", path, tls.insecure_skip_verify);
  for (auto [key, value] : {std::pair{"ca", &tls.ca}, std::pair{"cert", &tls.cert}, std::pair{"key", &tls.key}})
    if (value->find("-----BEGIN") != std::string::npos)
      report(r, v, path, key, "PEM text is not supported here; give the path of a PEM file");
  if (tls.cert.empty() != tls.key.empty())
    r.error(path, "set both cert and key (the client certificate and its key), or neither", k, v);
  bool any_tcp = false;
  for (const auto& e : endpoints) any_tcp = any_tcp || e.rfind("tcp://", 0) == 0;
  if (!any_tcp) r.error(path, "tls applies to tcp:// endpoints only, and none is configured", k, v);
  return tls;
}

}  // namespace

DockerProvider read_docker_provider(const Node& v, const std::string& path, YamlReader& r) {
  r.check_keys(v, path,
               {"endpoint", "endpoints", "exposedByDefault", "defaultRule", "watch", "network", "constraints",
                "tls", "useBindPortIP", "httpClientTimeout", "allowEmptyServices"},
               {{"username", "no Basic authentication towards the Docker API"},
                {"password", "no Basic authentication towards the Docker API"}});
  DockerProvider d;
  d.endpoints = read_endpoints(v, path, r);
  r.get(v, "exposedByDefault", path, d.exposed_by_default);
  r.get(v, "defaultRule", path, d.default_rule);
  r.get(v, "watch", path, d.watch);
  r.get(v, "network", path, d.network);
  r.get(v, "useBindPortIP", path, d.use_bind_port_ip);
  r.get(v, "allowEmptyServices", path, d.allow_empty_services);
  std::chrono::milliseconds timeout{};  // (the duration reader refuses negative values)
  if (r.get(v, "httpClientTimeout", path, timeout)) d.http_client_timeout = timeout;
  if (r.get(v, "constraints", path, d.constraints) && !d.constraints.empty())
    if (auto parsed = parse_rule(d.constraints, RuleKind::constraint); !parsed.error.empty())
      report(r, v, path, "constraints", parsed.error);
  d.tls = read_tls(v, path, r, d.endpoints);
  return d;
}

}  // namespace portier::config
