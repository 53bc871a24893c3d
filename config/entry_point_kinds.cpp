#include "config/entry_point_kinds.hpp"

#include <span>
#include <string_view>

namespace portier::config {
namespace {

struct IdleKey {
  std::string_view section;  // "" = the entrypoint itself, else a key below it
  std::string_view subsection;
  std::string_view key;
};

constexpr IdleKey kOnTcpOnly[] = {
    {"", "", "http"},
    {"", "", "http2"},
    {"", "", "forwardedHeaders"},
    {"", "", "udp"},
    {"transport", "", "keepAliveMaxRequests"},
    {"transport", "", "keepAliveMaxTime"},
    {"transport", "respondingTimeouts", "readTimeout"},
    {"transport", "respondingTimeouts", "writeTimeout"},
};

// http, proxyProtocol and portier on UDP are refused by their own readers.
constexpr IdleKey kOnUdp[] = {
    {"", "", "http2"},
    {"", "", "forwardedHeaders"},
    {"", "", "allowACMEByPass"},
    {"transport", "", "respondingTimeouts"},
    {"transport", "", "keepAliveMaxRequests"},
    {"transport", "", "keepAliveMaxTime"},
};

constexpr IdleKey kOnHttp[] = {{"", "", "udp"}};

struct Found {
  bool found = false;
  YAML::Node key, value;
  std::string path;
};

Found lookup(const YAML::Node& map, const std::string& path, std::string_view key) {
  auto [k, v] = YamlReader::find(map, key);
  if (!k.IsDefined()) return {};
  return {true, k, v, child_path(path, k.Scalar())};
}

// `section.subsection.key` (empty steps skipped) below the entrypoint's map `v`.
Found find_key(const YAML::Node& v, const std::string& path, const IdleKey& idle) {
  if (idle.section.empty()) return lookup(v, path, idle.key);
  Found s = lookup(v, path, idle.section);
  if (!s.found) return {};
  if (idle.subsection.empty()) return lookup(s.value, s.path, idle.key);
  Found sub = lookup(s.value, s.path, idle.subsection);
  return sub.found ? lookup(sub.value, sub.path, idle.key) : Found{};
}

}  // namespace

void check_entry_point_kind(const YAML::Node& v, const std::string& path, const EntryPoint& ep,
                            YamlReader& reader) {
  std::span<const IdleKey> idle = kOnHttp;
  const char* kind = "a TCP entrypoint";
  if (ep.protocol == EntryPoint::Protocol::udp) {
    idle = kOnUdp;
    kind = "a UDP entrypoint";
  } else if (ep.tcp_only()) {
    idle = kOnTcpOnly;
    kind = "a TCP entrypoint (tcp-* entrypoints carry TCP routers only)";
  }
  for (const IdleKey& key : idle) {
    Found f = find_key(v, path, key);
    if (f.found) reader.error(f.path, std::string("has no effect on ") + kind, f.key, f.value);
  }
}

}  // namespace portier::config
