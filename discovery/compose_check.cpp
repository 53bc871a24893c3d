#include "discovery/compose_check.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "config/yaml_tree.hpp"
#include "core/atomic_file.hpp"
#include "discovery/fragment_merge.hpp"

namespace portier::discovery {
namespace {

// Docker compose's project name rule: lowercase, only [a-z0-9_-], starting alphanumeric.
std::string project_from_dir(const std::string& path) {
  auto dir = std::filesystem::absolute(path).parent_path().filename().string();
  std::string out;
  for (unsigned char c : dir)
    if (std::isalnum(c) || c == '_' || c == '-') out += static_cast<char>(std::tolower(c));
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out.empty() ? "default" : out;
}

std::string scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

// What compose makes of "$$" in a value: one "$" (a basicAuth hash "$$apr1$$..." reaches the
// container's labels as "$apr1$..."). Variables ($VAR) are not substituted.
std::string compose_unescape(std::string s) {
  for (size_t at = s.find("$$"); at != std::string::npos; at = s.find("$$", at + 1)) s.erase(at, 1);
  return s;
}

// labels: as a map, or as a list of "key=value".
std::string read_labels(const YAML::Node& node, std::map<std::string, std::string>& out) {
  if (!node) return {};
  if (node.IsMap()) {
    for (const auto& kv : node)
      out[kv.first.Scalar()] = kv.second.IsNull() ? "" : compose_unescape(scalar(kv.second));
    return {};
  }
  if (!node.IsSequence()) return "labels must be a map or a list";
  for (const auto& item : node) {
    std::string s = compose_unescape(scalar(item));
    auto eq = s.find('=');
    out[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
  }
  return {};
}

// Container ports from `expose` and `ports` (short "8080", "80:8080", "ip:80:8080/tcp", long {target}).
void read_ports(const YAML::Node& service, std::vector<int>& out) {
  auto add = [&](std::string s) {
    auto slash = s.find('/');
    if (slash != std::string::npos) {
      if (s.substr(slash + 1) == "udp") return;
      s.erase(slash);
    }
    auto colon = s.rfind(':');
    if (colon != std::string::npos) s.erase(0, colon + 1);
    auto dash = s.find('-');  // a range: its first port
    if (dash != std::string::npos) s.erase(dash);
    int p = std::atoi(s.c_str());
    if (p > 0 && p < 65536) out.push_back(p);
  };
  for (const char* key : {"expose", "ports"}) {
    const auto& list = service[key];
    if (!list || !list.IsSequence()) continue;
    for (const auto& item : list) {
      if (item.IsMap()) add(scalar(item["target"]));
      else add(scalar(item));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

}  // namespace

ComposeCheckResult check_compose_text(const std::string& yaml, const std::string& source_name,
                                      const DecodeOptions& options) {
  ComposeCheckResult result;
  std::vector<config::ConfigError> errors;
  std::vector<SourcedDynamic> inputs;
  auto fail = [&](const std::string& source, const std::string& label, const std::string& message) {
    errors.push_back({"docker", source, label, message});
  };
  YAML::Node root;
  int bad_line = 0;
  if (std::string problem = config::yaml_text_problem(yaml, bad_line); !problem.empty()) {
    fail(source_name, "", "invalid YAML: " + problem + " at line " + std::to_string(bad_line));
  } else {
    try {
      root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      fail(source_name, "", "invalid YAML: " + config::valid_utf8(e.what()));
    }
  }
  if (errors.empty() && !root.IsMap()) fail(source_name, "", "a compose file must be a map");
  const YAML::Node services = root && root.IsMap() ? root["services"] : YAML::Node();
  if (errors.empty() && (!services || !services.IsMap())) fail(source_name, "services", "no services");
  if (errors.empty()) {
    std::string project = scalar(root["name"]);
    if (project.empty()) project = project_from_dir(source_name);
    for (const auto& kv : services) {
      const std::string service_name = kv.first.Scalar();
      const YAML::Node& svc = kv.second;
      ContainerInfo c;
      // A const yaml-cpp node throws on operator[] unless it is a map (or null).
      c.name = svc.IsMap() ? scalar(svc["container_name"]) : std::string();
      if (c.name.empty()) c.name = project + "-" + service_name + "-1";
      c.id = c.name;
      c.endpoint = source_name;
      std::string source = "service " + service_name + " (container " + c.name + ") in " + source_name;
      if (!svc.IsMap()) {
        fail(source, "", "a service must be a map");
        continue;
      }
      if (auto e = read_labels(svc["labels"], c.labels); !e.empty()) {
        fail(source, "labels", e);
        continue;
      }
      c.network_mode = scalar(svc["network_mode"]);
      if (c.network_mode == "host") c.networks = {{"host", ""}};
      else c.networks = {{project + "_default", "container-ip"}};
      read_ports(svc, c.ports);
      result.containers.push_back(c.name);
      auto f = decode_container(c, options);
      if (!f.skipped.empty()) result.skipped.push_back({"docker", source, "", f.skipped});
      for (auto& e : f.errors) {
        e.source = source;
        errors.push_back(std::move(e));
      }
      result.ports.insert(result.ports.end(), f.ports.begin(), f.ports.end());
      inputs.push_back({source, std::move(f.dynamic)});
    }
  }
  result.fragment = merge_fragments(inputs, std::move(errors));
  return result;
}

ComposeCheckResult check_compose_file(const std::string& path, const DecodeOptions& options) {
  std::string error;
  auto text = core::read_file(path, &error);
  if (!text) {
    ComposeCheckResult r;
    // read_file's text starts with the path, which is already the error's source.
    if (error.rfind(path + ": ", 0) == 0) error.erase(0, path.size() + 2);
    r.fragment.errors.push_back({"docker", path, "", "cannot read the file: " + (error.empty() ? "unknown error" : error)});
    return r;
  }
  return check_compose_text(*text, path, options);
}

}  // namespace portier::discovery
