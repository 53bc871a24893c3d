#include "config/yaml_util.hpp"

#include "config/yaml_tree.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace portier::config {

bool is_ipv4(std::string_view text) {
  in_addr a{};
  return ::inet_pton(AF_INET, std::string(text).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view text) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, std::string(text).c_str(), &a) == 1;
}

bool is_ip_or_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return is_ipv4(text) || is_ipv6(text);
  std::string_view ip = text.substr(0, slash), bits = text.substr(slash + 1);
  if (!all_digits(bits) || bits.size() > 3) return false;
  int prefix = std::stoi(std::string(bits));
  if (is_ipv4(ip)) return prefix <= 32;
  if (is_ipv6(ip)) return prefix <= 128;
  return false;
}

bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    std::string_view label =
        text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  in_addr a4{};
  std::string h(host);
  if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
  }
  return false;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string& error) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' in address " + quoted;
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      error = "missing port in address " + quoted;
      return std::nullopt;
    }
    port = rest.substr(1);
    if (!is_ipv6(host)) {
      error = "invalid IPv6 address \"" + std::string(host) + "\"";
      return std::nullopt;
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "missing port in address " + quoted + " (expected host:port or :port)";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "IPv6 address must be in brackets in " + quoted + " (e.g. [::1]:443)";
      return std::nullopt;
    }
    if (!host.empty() && host != "localhost" && !is_ipv4(host)) {
      error = "invalid host \"" + std::string(host) + "\" (an IP address or localhost is required)";
      return std::nullopt;
    }
  }
  auto p = parse_port(port);
  if (!p) {
    error = all_digits(port) ? "port " + std::string(port) + " out of range 1..65535"
                             : "invalid port \"" + std::string(port) + "\"";
    return std::nullopt;
  }
  return HostPort{std::string(host), *p};
}

std::string format_host_port(std::string_view host, uint16_t port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return h + ":" + std::to_string(port);
}

std::optional<PortRange> parse_port_range(std::string_view text, std::string& error) {
  text = trim(text);
  auto dash = text.find('-');
  std::string_view a = trim(text.substr(0, dash));
  std::string_view b = dash == std::string_view::npos ? a : trim(text.substr(dash + 1));
  auto first = parse_port(a), last = parse_port(b);
  if (!first || !last) {
    error =
        "invalid port range \"" + std::string(text) + "\" (expected FIRST-LAST, e.g. 10000-10010)";
    return std::nullopt;
  }
  if (*first > *last) {
    error = "port range \"" + std::string(text) + "\" is not ordered (first > last)";
    return std::nullopt;
  }
  return PortRange{*first, *last};
}

// ---- YAML reader ----------------------------------------------------------------------------

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

void YamlReader::error(const std::string& path, std::string message, int line) {
  problems_.push_back(core::Problem{path, std::move(message), line});
}

void YamlReader::error(const std::string& path, std::string message, const YAML::Node& key,
                       const YAML::Node& value) {
  int line = 0;
  if (value.IsDefined() && !value.IsNull()) line = line_of(value);
  if (line == 0) line = line_of(key);
  if (line == 0) line = line_of(value);
  error(path, std::move(message), line);
}

bool YamlReader::expect_map(const YAML::Node& node, const std::string& path,
                            const YAML::Node& key) {
  if (!node.IsDefined() || node.IsNull() || node.IsMap()) return true;
  error(path, "expected a mapping", key, node);
  return false;
}

bool YamlReader::section(const YAML::Node& node, const std::string& path, const YAML::Node& key) {
  if (!node.IsScalar()) return expect_map(node, path, key);
  if (auto on = parse_bool(node.Scalar())) return *on;
  error(path, "expected a mapping, true or false", key, node);
  return false;
}

void YamlReader::check_keys(const YAML::Node& map, const std::string& path,
                            std::initializer_list<std::string_view> known,
                            std::initializer_list<UnsupportedKey> unsupported,
                            core::Problems* unknown_warnings) {
  if (!map.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    const YAML::Node& k = kv.first;
    if (!k.IsScalar()) {
      error(path, "keys must be plain strings", line_of(k));
      continue;
    }
    const std::string name = k.Scalar();
    const std::string p = child_path(path, name);
    std::string folded = name;  // keys differing only in case are the same key
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!seen.insert(folded).second) {
      error(p, "duplicate key", line_of(k));
      continue;
    }
    if (std::any_of(known.begin(), known.end(), [&](std::string_view x) { return iequals(x, name); })) continue;
    auto u = std::find_if(unsupported.begin(), unsupported.end(),
                          [&](const UnsupportedKey& x) { return iequals(x.key, name); });
    if (u != unsupported.end()) {
      std::string msg = "not supported by portier";
      if (!u->hint.empty()) msg += ": " + std::string(u->hint);
      error(p, msg, line_of(k));
    } else if (unknown_warnings) {
      unknown_warnings->push_back({p, "unknown key, ignored (as Traefik ignores it)", line_of(k)});
    } else {
      error(p, "unknown key", line_of(k));
    }
  }
}

void YamlReader::check_unique_keys(const YAML::Node& map, const std::string& path) {
  if (!map.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      error(path, "keys must be plain strings", line_of(kv.first));
    } else if (!seen.insert(kv.first.Scalar()).second) {
      error(child_path(path, kv.first.Scalar()), "duplicate key", line_of(kv.first));
    }
  }
}

std::optional<std::string> YamlReader::string(const YAML::Node& v, const std::string& path,
                                              const YAML::Node& key) {
  if (v.IsScalar()) return v.Scalar();
  error(path, "expected a string", key, v);
  return std::nullopt;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& v, const std::string& path,
                                        const YAML::Node& key) {
  bool out = false;
  if (!v.IsScalar()) {
    error(path, "expected true or false", key, v);
    return std::nullopt;
  }
  if (auto e = read_bool(v.Scalar(), out); !e.empty()) {
    error(path, e, key, v);
    return std::nullopt;
  }
  return out;
}

std::optional<int64_t> YamlReader::integer(const YAML::Node& v, const std::string& path,
                                           int64_t min, int64_t max, const YAML::Node& key) {
  if (!v.IsScalar()) {
    error(path, "expected an integer", key, v);
    return std::nullopt;
  }
  int64_t value = 0;
  if (auto e = read_int(v.Scalar(), IntRange{min, max, "integer"}, value); !e.empty()) {
    error(path, e, key, v);
    return std::nullopt;
  }
  return value;
}

std::optional<uint16_t> YamlReader::port(const YAML::Node& v, const std::string& path,
                                         const YAML::Node& key) {
  if (!v.IsScalar()) {
    error(path, "expected a port number", key, v);
    return std::nullopt;
  }
  const std::string& s = v.Scalar();
  if (auto p = parse_port(s)) return p;
  error(path, all_digits(s) ? "port " + s + " out of range 1..65535" : "invalid port \"" + s + "\"",
        key, v);
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> YamlReader::duration(const YAML::Node& v,
                                                              const std::string& path,
                                                              const YAML::Node& key) {
  if (v.IsScalar()) {
    if (auto d = parse_duration(v.Scalar())) return d;
    error(path, "invalid duration \"" + v.Scalar() + "\" (e.g. 10s, 1m30s, 500ms, or seconds)", key,
          v);
  } else {
    error(path, "expected a duration", key, v);
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::strings(const YAML::Node& v,
                                                            const std::string& path,
                                                            const YAML::Node& key) {
  if (v.IsScalar()) return split_comma_list(v.Scalar());
  if (v.IsNull()) return std::vector<std::string>{};
  if (!v.IsSequence()) {
    error(path, "expected a list of strings", key, v);
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    auto s = string(v[i], index_path(path, i), key);
    if (s) out.push_back(*s);
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<uint16_t>> YamlReader::ports(const YAML::Node& v, const std::string& path,
                                                       const YAML::Node& key) {
  std::vector<uint16_t> out;
  bool ok = true;
  if (v.IsNull()) return out;
  if (v.IsScalar()) {
    for (const auto& item : split_comma_list(v.Scalar())) {
      auto p = parse_port(item);
      if (!p) {
        error(path,
              all_digits(item) ? "port " + item + " out of range 1..65535"
                               : "invalid port \"" + item + "\"",
              key, v);
        ok = false;
      } else {
        out.push_back(*p);
      }
    }
  } else if (v.IsSequence()) {
    for (size_t i = 0; i < v.size(); ++i) {
      auto p = port(v[i], index_path(path, i), key);
      if (p) out.push_back(*p);
      ok = ok && p.has_value();
    }
  } else {
    error(path, "expected a list of ports", key, v);
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::pair<YAML::Node, YAML::Node> YamlReader::find(const YAML::Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && iequals(kv.first.Scalar(), key)) return {kv.first, kv.second};
    }
  }
  return {YAML::Node(YAML::NodeType::Undefined), YAML::Node(YAML::NodeType::Undefined)};
}

bool YamlReader::get(const YAML::Node& map, std::string_view key, const std::string& parent,
                     std::string& out) {
  auto [k, v] = find(map, key);
  if (!k.IsDefined()) return false;
  auto r = string(v, child_path(parent, k.Scalar()), k);
  if (r) out = *r;
  return r.has_value();
}

bool YamlReader::get(const YAML::Node& map, std::string_view key, const std::string& parent,
                     bool& out) {
  auto [k, v] = find(map, key);
  if (!k.IsDefined()) return false;
  auto r = boolean(v, child_path(parent, k.Scalar()), k);
  if (r) out = *r;
  return r.has_value();
}

bool YamlReader::get(const YAML::Node& map, std::string_view key, const std::string& parent,
                     std::chrono::milliseconds& out) {
  auto [k, v] = find(map, key);
  if (!k.IsDefined()) return false;
  auto r = duration(v, child_path(parent, k.Scalar()), k);
  if (r) out = *r;
  return r.has_value();
}

bool YamlReader::get(const YAML::Node& map, std::string_view key, const std::string& parent,
                     std::vector<std::string>& out) {
  auto [k, v] = find(map, key);
  if (!k.IsDefined()) return false;
  auto r = strings(v, child_path(parent, k.Scalar()), k);
  if (r) out = *r;
  return r.has_value();
}

std::optional<YAML::Node> parse_yaml(std::string_view text, const std::string& source,
                                     core::Problems& problems) {
  int line = 0;
  if (std::string problem = yaml_text_problem(text, line); !problem.empty()) {
    problems.push_back(core::Problem{source, "invalid YAML: " + problem, line});
    return std::nullopt;
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    problems.push_back(core::Problem{source, "invalid YAML: " + valid_utf8(e.msg), e.mark.line + 1});
  } catch (const YAML::Exception& e) {
    problems.push_back(core::Problem{source, "invalid YAML: " + valid_utf8(e.what()), 0});
  }
  return std::nullopt;
}

}  // namespace portier::config
