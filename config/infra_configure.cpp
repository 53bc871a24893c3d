#include "config/infra_configure.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/infra_expansion.hpp"
#include "config/static_loader.hpp"
#include "config/yaml_util.hpp"
#include "core/atomic_file.hpp"

namespace portier::config {

namespace {

using json = nlohmann::json;

constexpr std::string_view kStringKeys[] = {"public_ipv4", "public_ipv6", "base_domain",
                                            "cert_email", "cf_dns_api_token"};
constexpr std::string_view kPortKeys[] = {"tcp_ports", "udp_ports"};

// The renet settings, validated.
struct Settings {
  std::vector<std::pair<std::string, std::string>> strings;  // key order as kStringKeys
  std::vector<std::pair<std::string, std::vector<uint16_t>>> ports;
  std::string machine_name;
};

bool is_managed(std::string_view key) {
  return std::find(std::begin(kStringKeys), std::end(kStringKeys), key) != std::end(kStringKeys) ||
         std::find(std::begin(kPortKeys), std::end(kPortKeys), key) != std::end(kPortKeys);
}

std::optional<std::vector<uint16_t>> json_ports(const json& v, const std::string& key,
                                                core::Problems& problems) {
  std::vector<uint16_t> out;
  auto bad = [&](const std::string& path, const std::string& what) {
    problems.push_back({path, "invalid port " + what + " (1..65535)", 0});
  };
  if (v.is_string()) {
    for (const auto& item : split_comma_list(v.get<std::string>())) {
      if (auto p = parse_port(item))
        out.push_back(*p);
      else
        bad(key, "\"" + item + "\"");
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      std::optional<uint16_t> p;
      if (e.is_number_integer() && e.get<int64_t>() >= 1 && e.get<int64_t>() <= 65535) {
        p = static_cast<uint16_t>(e.get<int64_t>());
      } else if (e.is_string()) {
        p = parse_port(e.get<std::string>());
      }
      if (p)
        out.push_back(*p);
      else
        bad(index_path(key, i), e.dump());
    }
  } else {
    problems.push_back({key, "expected a list of ports", 0});
    return std::nullopt;
  }
  return out;
}

Settings parse_settings(std::string_view text, core::Problems& problems) {
  Settings s;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    problems.push_back({"", std::string("invalid JSON: ") + e.what(), 0});
    return s;
  }
  if (!doc.is_object()) {
    problems.push_back({"", "expected a JSON object", 0});
    return s;
  }
  for (const auto& [key, value] : doc.items()) {
    if (!is_managed(key) && key != "machine_name") problems.push_back({key, "unknown key", 0});
  }
  for (std::string_view key : kStringKeys) {
    auto it = doc.find(std::string(key));
    if (it == doc.end() || it->is_null()) continue;
    if (!it->is_string()) {
      problems.push_back({std::string(key), "expected a string", 0});
    } else if (auto err = infra_value_error(key, it->get<std::string>()); !err.empty()) {
      problems.push_back({std::string(key), err, 0});
    } else if (!it->get<std::string>().empty()) {
      s.strings.emplace_back(key, it->get<std::string>());
    }
  }
  for (std::string_view key : kPortKeys) {
    auto it = doc.find(std::string(key));
    if (it == doc.end() || it->is_null()) continue;
    auto ports = json_ports(*it, std::string(key), problems);
    if (ports && !ports->empty()) s.ports.emplace_back(key, *ports);
  }
  if (auto it = doc.find("machine_name"); it != doc.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().find_first_of("\r\n") != std::string::npos) {
      problems.push_back({"machine_name", "expected a one-line string", 0});
    } else {
      s.machine_name = it->get<std::string>();
    }
  }
  return s;
}

// The new `infra:` block, "infra:\n  key: value\n..." ending with a newline.
std::string emit_block(const Settings& s, const YAML::Node& old_infra) {
  const bool has_token = std::any_of(s.strings.begin(), s.strings.end(),
                                     [](const auto& kv) { return kv.first == "cf_dns_api_token"; });
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [k, v] : s.strings)
    out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
  for (const auto& [k, v] : s.ports) out << YAML::Key << k << YAML::Value << YAML::Flow << v;
  size_t count = s.strings.size() + s.ports.size();
  if (old_infra.IsMap()) {
    for (const auto& kv : old_infra) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (is_managed(key) || key == "machine_name") continue;
      if (key == "cf_dns_api_token_file" && has_token) continue;
      out << YAML::Key << kv.first << YAML::Value << kv.second;
      ++count;
    }
  }
  out << YAML::EndMap;
  std::string block = "infra:";
  if (count == 0 && s.machine_name.empty()) return block + " {}\n";
  block += "\n";
  if (!s.machine_name.empty()) block += "  # machine: " + s.machine_name + "\n";
  if (count == 0) return block;  // a comment only: the value is null, read as an empty block
  std::istringstream lines(out.c_str());
  for (std::string line; std::getline(lines, line);) block += "  " + line + "\n";
  return block;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool is_trivia(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos || line.rfind("#", 0) == 0;
}

// Replaces (or appends) the top-level infra block in block-style text; nullopt when the text
// is not laid out so (flow style root, indented root keys).
std::optional<std::string> splice_block(std::string_view text, const YAML::Node& root,
                                        const std::string& block) {
  std::vector<std::string> lines = split_lines(text);
  int start = -1;
  std::vector<int> key_lines;
  for (const auto& kv : root) {
    const auto mark = kv.first.Mark();
    if (mark.column != 0 || mark.line < 0) return std::nullopt;
    if (kv.first.IsScalar() && kv.first.Scalar() == "infra") start = mark.line;
    key_lines.push_back(mark.line);
  }
  std::string result;
  if (start < 0) {
    result = std::string(text);
    if (!result.empty() && result.back() != '\n') result += "\n";
    return result + block;
  }
  int end = static_cast<int>(lines.size());
  for (int l : key_lines) {
    if (l > start && l < end) end = l;
  }
  for (int l = start + 1; l < end; ++l) {
    if (lines[l].rfind("---", 0) == 0 || lines[l].rfind("...", 0) == 0) end = l;
  }
  while (end > start + 1 && is_trivia(lines[end - 1])) --end;
  for (int l = 0; l < start; ++l) result += lines[l] + "\n";
  result += block;
  for (int l = end; l < static_cast<int>(lines.size()); ++l) result += lines[l] + "\n";
  return result;
}

std::string reemit(YAML::Node root, const std::string& block) {
  YAML::Node parsed = YAML::Load(block);
  root["infra"] = parsed["infra"];
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

// The infra node of the new text, to check that the splice did what was meant.
bool same_infra(const std::string& text, const std::string& block) {
  try {
    YAML::Node a = YAML::Load(text)["infra"];
    YAML::Node b = YAML::Load(block)["infra"];
    YAML::Emitter ea, eb;
    ea << a;
    eb << b;
    return std::string(ea.c_str()) == eb.c_str();
  } catch (const YAML::Exception&) {
    return false;
  }
}

}  // namespace

InfraRewrite rewrite_infra_block(std::string_view current, std::string_view json_text) {
  InfraRewrite result;
  Settings settings = parse_settings(json_text, result.problems);
  if (!result.problems.empty()) return result;
  core::Problems parse_problems;
  auto root = parse_yaml(current, "existing configuration", parse_problems);
  if (!root) {
    result.problems = parse_problems;
    return result;
  }
  if (!root->IsNull() && !root->IsMap()) {
    result.problems.push_back({"", "existing configuration is not a YAML mapping", 0});
    return result;
  }
  const YAML::Node old_infra = YamlReader::find(*root, "infra").second;
  const std::string block = emit_block(settings, old_infra);
  std::optional<std::string> text;
  if (root->IsNull()) {
    std::string t(current);
    if (!t.empty() && t.back() != '\n') t += "\n";
    text = t + block;
  } else {
    text = splice_block(current, *root, block);
  }
  if (!text || !same_infra(*text, block)) text = reemit(*root, block);
  StaticLoadResult check = load_static_config_text(*text, "configuration", Overrides{}, {});
  for (const auto& p : check.problems) {
    if (p.path.rfind("infra", 0) == 0) result.problems.push_back(p);
  }
  if (result.problems.empty()) result.text = std::move(*text);
  return result;
}

core::Problems configure_infra(const std::string& config_path, std::string_view json_text) {
  std::string current;
  struct stat st {};
  if (::stat(config_path.c_str(), &st) == 0) {
    std::string error;
    auto text = core::read_file(config_path, &error);
    if (!text) return {{"", "cannot read " + error, 0}};
    current = std::move(*text);
  } else if (errno != ENOENT) {
    return {{"", config_path + ": " + std::strerror(errno), 0}};
  }
  InfraRewrite rewrite = rewrite_infra_block(current, json_text);
  if (!rewrite.problems.empty()) return rewrite.problems;
  if (auto err = core::write_file_atomic(config_path, rewrite.text, 0600); !err.empty()) {
    return {{"", "cannot write: " + err, 0}};
  }
  return {};
}

}  // namespace portier::config
