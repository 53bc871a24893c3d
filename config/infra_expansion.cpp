#include "config/infra_expansion.hpp"

#include <set>

#include "core/atomic_file.hpp"

namespace portier::config {

namespace {

struct StringKey {
  std::string_view key;
  std::string Infra::*member;  // nullptr: accepted, not stored
};

constexpr StringKey kStringKeys[] = {
    {"public_ipv4", &Infra::public_ipv4},
    {"public_ipv6", &Infra::public_ipv6},
    {"base_domain", &Infra::base_domain},
    {"cert_email", &Infra::cert_email},
    {"cf_dns_api_token", &Infra::cf_dns_api_token},
    {"cf_dns_api_token_file", &Infra::cf_dns_api_token_file},
    {"machine_name", nullptr},
};

void read_dynamic_range(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                        YamlReader& r, Infra& infra) {
  auto text = r.string(value, path, key);
  if (!text) return;
  if (text->empty()) return;
  std::string error;
  auto range = parse_port_range(*text, error);
  if (!range) {
    r.error(path, error, key, value);
    return;
  }
  infra.dynamic_tcp_first = range->first;
  infra.dynamic_tcp_last = range->last;
}

void read_value(std::string_view name, const YAML::Node& k, const YAML::Node& v,
                const std::string& p, YamlReader& r, Infra& infra) {
  // `name` as written: check_keys matched it case-insensitively.
  for (const auto& sk : kStringKeys) {
    if (!iequals(sk.key, name)) continue;
    auto s = r.string(v, p, k);
    if (!s) return;
    if (auto err = infra_value_error(sk.key, *s); !err.empty()) {
      r.error(p, err, k, v);
    } else if (sk.member) {
      infra.*sk.member = *s;
    }
    return;
  }
  if (iequals(name, "tcp_ports") || iequals(name, "udp_ports")) {
    if (auto ports = r.ports(v, p, k))
      (iequals(name, "tcp_ports") ? infra.tcp_ports : infra.udp_ports) = *ports;
  } else if (iequals(name, "http_port") || iequals(name, "https_port")) {
    if (auto port = r.port(v, p, k))
      (iequals(name, "http_port") ? infra.http_port : infra.https_port) = *port;
  } else if (iequals(name, "dynamic_tcp_ports")) {
    read_dynamic_range(k, v, p, r, infra);
  }
}

int line_for(const std::map<std::string, int>& lines, const std::string& key) {
  auto it = lines.find(key);
  return it == lines.end() ? 0 : it->second;
}

EntryPoint make_entry_point(std::string name, std::vector<std::string> hosts, uint16_t port,
                            EntryPoint::Protocol protocol) {
  EntryPoint ep;
  ep.name = std::move(name);
  for (const auto& h : hosts) {
    if (!ep.address.empty()) ep.address += ",";
    ep.address += format_host_port(h, port);
    if (protocol == EntryPoint::Protocol::udp) ep.address += "/udp";
  }
  ep.hosts = std::move(hosts);
  ep.port = port;
  ep.protocol = protocol;
  ep.from_infra = true;
  return ep;
}

void add_web_pair(StaticConfig& config, const std::string& suffix, const std::string& host) {
  const Infra& infra = config.infra;
  EntryPoint web =
      make_entry_point("web" + suffix, {host}, infra.http_port, EntryPoint::Protocol::tcp);
  web.redirection = Redirection{"websecure" + suffix, "https", true, 0};
  EntryPoint secure =
      make_entry_point("websecure" + suffix, {host}, infra.https_port, EntryPoint::Protocol::tcp);
  secure.tls = true;
  config.entry_points.try_emplace(web.name, std::move(web));
  config.entry_points.try_emplace(secure.name, std::move(secure));
}

std::string env_value(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

void set_infra_value(std::string& field, std::string_view key, const std::string& value,
                     const std::string& origin, core::Problems& problems) {
  if (auto err = infra_value_error(key, value); !err.empty()) {
    problems.push_back({origin, err, 0});
  } else {
    field = value;
  }
}

std::string apply_infra_environment(Infra& infra, const std::map<std::string, std::string>& env,
                                    core::Problems& problems) {
  std::string token_file_origin;
  if (auto file = env_value(env, "CF_DNS_API_TOKEN_FILE"); !file.empty()) {
    infra.cf_dns_api_token_file = file;
    infra.cf_dns_api_token.clear();
    token_file_origin = "CF_DNS_API_TOKEN_FILE";
  }
  const char* token_var = "CF_DNS_API_TOKEN";
  std::string token = env_value(env, token_var);
  if (token.empty()) token = env_value(env, token_var = "CLOUDFLARE_DNS_API_TOKEN");
  if (!token.empty()) {
    set_infra_value(infra.cf_dns_api_token, "cf_dns_api_token", token, token_var, problems);
    infra.cf_dns_api_token_file.clear();
  }
  if (auto email = env_value(env, "CERTBOT_EMAIL"); !email.empty()) {
    set_infra_value(infra.cert_email, "cert_email", email, "CERTBOT_EMAIL", problems);
  }
  return token_file_origin;
}

void read_infra_token_file(Infra& infra, const std::string& origin, int line,
                           core::Problems& problems) {
  if (!infra.cf_dns_api_token.empty() || infra.cf_dns_api_token_file.empty()) return;
  std::string error;
  auto text = core::read_file(infra.cf_dns_api_token_file, &error);
  if (!text) {
    problems.push_back({origin, "cannot read token file: " + error, line});
    return;
  }
  std::string token = *text;
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  if (token.empty() || !infra_value_error("cf_dns_api_token", token).empty()) {
    problems.push_back(
        {origin,
         "token file " + infra.cf_dns_api_token_file + " is empty or holds more than one word",
         line});
    return;
  }
  infra.cf_dns_api_token = token;
}

std::string infra_value_error(std::string_view key, std::string_view value) {
  const std::string v(value);
  if (value.empty()) return {};
  if (key == "public_ipv4") {
    if (!is_ipv4(value)) return "invalid IPv4 address \"" + v + "\"";
  } else if (key == "public_ipv6") {
    if (!is_ipv6(value)) return "invalid IPv6 address \"" + v + "\" (no brackets)";
  } else if (key == "base_domain") {
    if (!is_hostname(value) || value.find('.') == std::string_view::npos) {
      return "invalid domain \"" + v + "\"";
    }
  } else if (key == "cert_email") {
    auto at = value.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 >= value.size() ||
        value.find_first_of(" \t\r\n") != std::string_view::npos) {
      return "invalid email address \"" + v + "\"";
    }
  } else if (key == "cf_dns_api_token") {
    if (value.find_first_of(" \t\r\n") != std::string_view::npos) {
      return "invalid token (contains whitespace)";
    }
  }
  return {};
}

Infra read_infra(const YAML::Node& node, const std::string& path, YamlReader& r,
                 std::map<std::string, int>* key_lines) {
  Infra infra;
  infra.enabled = true;
  if (!r.expect_map(node, path) || !node.IsMap()) return infra;
  r.check_keys(node, path,
               {"public_ipv4", "public_ipv6", "base_domain", "cert_email", "cf_dns_api_token",
                "cf_dns_api_token_file", "machine_name", "tcp_ports", "udp_ports", "http_port",
                "https_port", "dynamic_tcp_ports"});
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string name = kv.first.Scalar();
    const std::string p = child_path(path, name);
    if (key_lines) key_lines->try_emplace(p, line_of(kv.first));
    read_value(name, kv.first, kv.second, p, r, infra);
  }
  if (!infra.cf_dns_api_token.empty() && !infra.cf_dns_api_token_file.empty()) {
    auto [k, v] = YamlReader::find(node, "cf_dns_api_token_file");
    r.error(child_path(path, "cf_dns_api_token_file"),
            "set either cf_dns_api_token or cf_dns_api_token_file, not both", k, v);
  }
  return infra;
}

void validate_infra(const Infra& infra, const std::map<std::string, int>& key_lines,
                    core::Problems& problems) {
  if (!infra.enabled) return;
  const bool has_address = !infra.public_ipv4.empty() || !infra.public_ipv6.empty();
  auto need_address = [&](const char* key, bool used) {
    if (!used || has_address) return;
    const std::string path = std::string("infra.") + key;
    problems.push_back({path,
                        "needs infra.public_ipv4 or infra.public_ipv6: tcp-*/udp-* entrypoints "
                        "bind the public addresses only (all addresses would collide with "
                        "services on loopback IPs)",
                        line_for(key_lines, path)});
  };
  need_address("tcp_ports", !infra.tcp_ports.empty());
  need_address("udp_ports", !infra.udp_ports.empty());
  need_address("dynamic_tcp_ports", infra.dynamic_tcp_first != 0);
  if (infra.http_port == infra.https_port) {
    problems.push_back({"infra.https_port", "must differ from infra.http_port",
                        line_for(key_lines, "infra.https_port")});
  }
}

void apply_infra_expansion(StaticConfig& config) {
  const Infra& infra = config.infra;
  if (!infra.enabled) return;
  std::vector<std::string> hosts;
  if (!infra.public_ipv4.empty()) {
    add_web_pair(config, "", infra.public_ipv4);
    hosts.push_back(infra.public_ipv4);
  }
  if (!infra.public_ipv6.empty()) {
    add_web_pair(config, "-v6", infra.public_ipv6);
    hosts.push_back(infra.public_ipv6);
  }
  if (hosts.empty()) add_web_pair(config, "", "");

  if (!hosts.empty()) {
    std::set<uint16_t> tcp(std::begin(kInfraTcpPorts), std::end(kInfraTcpPorts));
    tcp.insert(infra.tcp_ports.begin(), infra.tcp_ports.end());
    if (infra.dynamic_tcp_first != 0) {
      for (uint32_t p = infra.dynamic_tcp_first; p <= infra.dynamic_tcp_last; ++p) {
        tcp.insert(static_cast<uint16_t>(p));
      }
    }
    std::set<uint16_t> udp(std::begin(kInfraUdpPorts), std::end(kInfraUdpPorts));
    udp.insert(infra.udp_ports.begin(), infra.udp_ports.end());
    // rediacc.udp_ports are allocated from the same range (SPEC 4): they need udp-{port}.
    for (uint32_t p = infra.dynamic_tcp_first; infra.dynamic_tcp_first != 0 && p <= infra.dynamic_tcp_last; ++p) {
      udp.insert(static_cast<uint16_t>(p));
    }
    for (uint16_t p : tcp) {
      auto ep = make_entry_point("tcp-" + std::to_string(p), hosts, p, EntryPoint::Protocol::tcp);
      config.entry_points.try_emplace(ep.name, std::move(ep));
    }
    for (uint16_t p : udp) {
      auto ep = make_entry_point("udp-" + std::to_string(p), hosts, p, EntryPoint::Protocol::udp);
      config.entry_points.try_emplace(ep.name, std::move(ep));
    }
  }

  if (!infra.cert_email.empty() && !infra.cf_dns_api_token.empty()) {
    CertResolver resolver;
    resolver.name = "letsencrypt";
    resolver.email = infra.cert_email;
    resolver.storage = config.state_directory + "/acme.json";
    resolver.dns_challenge = DnsChallenge{};
    resolver.dns_challenge->provider = "cloudflare";
    config.cert_resolvers.try_emplace(resolver.name, std::move(resolver));
  }
}

}  // namespace portier::config
