#pragma once
// YAML helpers shared by the static and dynamic configuration loaders: typed reads that report
// every problem with its YAML path and 1-based line, unknown / unsupported key detection, and
// the value syntaxes Traefik uses (durations, ports, host:port addresses).
//
// Keys are matched case-insensitively, as Traefik's loader matches them; paths and messages
// name a key as written. Paths are dotted ("entryPoints.web.
// address"), sequence elements are indexed ("providers.docker.endpoints[1]").
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/value_parsers.hpp"
#include "core/error.hpp"

namespace portier::config {

// ---- value syntaxes (no YAML involved) ----------------------------------------------------

bool is_ipv4(std::string_view text);
bool is_ipv6(std::string_view text);  // without brackets
bool is_ip_or_cidr(std::string_view text);
bool is_hostname(std::string_view text);  // DNS name, labels of [A-Za-z0-9-], no wildcard
// 127.0.0.0/8, ::1, ::ffff:127.x.x.x and "localhost".
bool is_loopback_host(std::string_view host);

struct HostPort {
  std::string host;  // no brackets; "" = all addresses; "localhost" is kept as written
  uint16_t port = 0;
};
// ":80", "127.0.0.1:8080", "[::1]:443", "localhost:8080". The host must be empty, an IP
// literal (IPv6 in brackets) or "localhost". On failure returns nullopt and sets `error`
// (e.g. `invalid port "44x"`).
std::optional<HostPort> parse_host_port(std::string_view text, std::string& error);
// Inverse of parse_host_port: brackets IPv6 hosts.
std::string format_host_port(std::string_view host, uint16_t port);

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
};
// "10000-10010" (ordered, both ends valid ports) or a single port "10000".
std::optional<PortRange> parse_port_range(std::string_view text, std::string& error);

// ---- YAML reader ----------------------------------------------------------------------------

std::string child_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, size_t index);
int line_of(const YAML::Node& node);  // 1-based; 0 when the node has no position

// A key that Traefik knows but portier does not implement: reported as "not supported".
struct UnsupportedKey {
  std::string_view key;
  std::string_view hint;  // appended after "not supported: " when non-empty
};

// Collects problems while reading typed values. Not thread-safe; one per load.
class YamlReader {
 public:
  explicit YamlReader(core::Problems& problems) : problems_(problems) {}

  void error(const std::string& path, std::string message, int line);
  // Reports at `value`'s line, or at `key`'s when the value has no useful position (null).
  void error(const std::string& path, std::string message, const YAML::Node& key,
             const YAML::Node& value);

  // True when `node` is a map, or null (an empty block, treated as an empty map).
  bool expect_map(const YAML::Node& node, const std::string& path, const YAML::Node& key = {});
  // A section Traefik decodes into a pointer to a struct (`providers.docker`, `ping`,
  // `accessLog`, `metrics.prometheus`, `http.tls`): a map or null, or a Go boolean scalar,
  // `true` turning it on with its defaults and `false` leaving it off, as Traefik's loader
  // reads them. True when the section is on (its keys, if any, are then read from `node`).
  bool section(const YAML::Node& node, const std::string& path, const YAML::Node& key = {});
  // Reports duplicate keys, non-scalar keys, keys in `unsupported` ("not supported") and any
  // other key absent from `known` ("unknown key"; into `unknown_warnings` instead when given:
  // keys Traefik ignores). Null / non-map nodes are ignored.
  void check_keys(const YAML::Node& map, const std::string& path,
                  std::initializer_list<std::string_view> known,
                  std::initializer_list<UnsupportedKey> unsupported = {},
                  core::Problems* unknown_warnings = nullptr);

  // For maps whose keys are names (entryPoints, certificatesResolvers): reports duplicate and
  // non-scalar keys only.
  void check_unique_keys(const YAML::Node& map, const std::string& path);

  // Typed reads of one node; nullopt (problem reported) when the value is not of that type.
  // `key` is the map key the value came from, used for the line when the value is null.
  std::optional<std::string> string(const YAML::Node& v, const std::string& path,
                                    const YAML::Node& key = {});
  std::optional<bool> boolean(const YAML::Node& v, const std::string& path,
                              const YAML::Node& key = {});
  std::optional<int64_t> integer(const YAML::Node& v, const std::string& path, int64_t min,
                                 int64_t max, const YAML::Node& key = {});
  std::optional<uint16_t> port(const YAML::Node& v, const std::string& path,
                               const YAML::Node& key = {});
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& v, const std::string& path,
                                                    const YAML::Node& key = {});
  // A sequence of scalars, or one scalar holding a comma-separated list.
  std::optional<std::vector<std::string>> strings(const YAML::Node& v, const std::string& path,
                                                  const YAML::Node& key = {});
  // A sequence of ports, or one scalar "25,143".
  std::optional<std::vector<uint16_t>> ports(const YAML::Node& v, const std::string& path,
                                             const YAML::Node& key = {});

  // Field reads: when `map` has `key`, read it into `out` (left unchanged on error). Return true
  // when the key was present and valid. `parent` is the map's path.
  bool get(const YAML::Node& map, std::string_view key, const std::string& parent,
           std::string& out);
  bool get(const YAML::Node& map, std::string_view key, const std::string& parent, bool& out);
  bool get(const YAML::Node& map, std::string_view key, const std::string& parent,
           std::chrono::milliseconds& out);
  bool get(const YAML::Node& map, std::string_view key, const std::string& parent,
           std::vector<std::string>& out);

  // The key node and value node of `key` in `map`; {undefined, undefined} when absent.
  static std::pair<YAML::Node, YAML::Node> find(const YAML::Node& map, std::string_view key);

  core::Problems& problems() { return problems_; }

 private:
  core::Problems& problems_;
};

// Parses YAML text; on a syntax error reports it (path = `source`) and returns nullopt.
std::optional<YAML::Node> parse_yaml(std::string_view text, const std::string& source,
                                     core::Problems& problems);

}  // namespace portier::config
