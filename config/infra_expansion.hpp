#pragma once
// The portier `infra:` block (the `rdc context set-infra` settings): reading it, and expanding
// it into Traefik entrypoints and a resolver (SPEC 2).
//
// Expansion contract (apply_infra_expansion):
// - Only when `infra.enabled` (an `infra:` block in the file, or an infra flag). Environment
//   variables alone (CF_DNS_API_TOKEN, CERTBOT_EMAIL) fill values but never enable expansion, so
//   a plain traefik.yml on a machine with those variables gets no extra ports.
// - public_ipv4 -> `web` (ipv4:http_port, permanent redirect to `websecure`) and `websecure`
//   (ipv4:https_port, http.tls on). public_ipv6 -> `web-v6` (redirect to `websecure-v6`) and
//   `websecure-v6`. The `websecure*` entrypoints have http.tls on (no resolver at entrypoint
//   level): a router there is always a TLS router, and chooses its own certResolver.
// - `tcp-{port}` for 3306, 5432, 6379, 27017, 11211, 5672, 9092, every port of
//   dynamic_tcp_ports and each tcp_ports entry; `udp-{port}` for 53 and each udp_ports entry.
//   Each binds every configured public address (hosts = [ipv4, ipv6]).
// - A resolver `letsencrypt` (DNS-01, cloudflare, email cert_email, storage
//   {state.directory}/acme.json) when cert_email and a token are both present.
// - Entrypoints / resolvers of the same name defined in the file win; expansion never
//   overwrites them. Expanded entrypoints have from_infra = true.
//
// DECISION, no public address at all (neither public_ipv4 nor public_ipv6):
// - `web` and `websecure` bind all addresses on http_port / https_port (hosts = [""], like
//   Traefik's ":80"); there is no `-v6` pair.
// - No `tcp-*` / `udp-*` entrypoint is created. Binding 3306, 5432, ... on all addresses would
//   collide with the services that listen on those same ports on 127.x.x.x loopback IPs (the
//   very layout portier fronts), so the built-in ports are skipped, and explicit tcp_ports /
//   udp_ports / dynamic_tcp_ports without a public address are a validation error
//   (validate_infra) rather than a silent no-op.
#include <map>
#include <string>

#include "config/static_config.hpp"
#include "config/yaml_util.hpp"
#include "core/error.hpp"

namespace portier::config {

// Built-in infra ports (SPEC 2).
inline constexpr uint16_t kInfraTcpPorts[] = {3306, 5432, 6379, 27017, 11211, 5672, 9092};
inline constexpr uint16_t kInfraUdpPorts[] = {53};

// Reads an `infra:` block at `path` (checks keys and each value). Sets `enabled` when the block
// is present. `key_lines` (optional) receives "infra.<key>" -> line for later checks.
Infra read_infra(const YAML::Node& node, const std::string& path, YamlReader& reader,
                 std::map<std::string, int>* key_lines = nullptr);

// Checks one string-valued infra setting by its key ("public_ipv4", "public_ipv6",
// "base_domain", "cert_email", "cf_dns_api_token", "cf_dns_api_token_file", "machine_name").
// Returns "" when valid; an empty value always is (it means "not set"). The message never
// contains the value of the token.
std::string infra_value_error(std::string_view key, std::string_view value);

// Assigns `value` to `field` when infra_value_error(key, value) is empty, else reports the
// problem under `origin` (a flag or variable name).
void set_infra_value(std::string& field, std::string_view key, const std::string& value,
                     const std::string& origin, core::Problems& problems);

// The environment layer (SPEC 1): CF_DNS_API_TOKEN_FILE, CF_DNS_API_TOKEN (alias
// CLOUDFLARE_DNS_API_TOKEN, the former wins), CERTBOT_EMAIL; empty values count as unset. A
// token replaces a token file and vice versa. Returns "CF_DNS_API_TOKEN_FILE" when that variable
// set the token file, else "".
std::string apply_infra_environment(Infra& infra, const std::map<std::string, std::string>& env,
                                    core::Problems& problems);

// When no token is set but a token file is, reads it (whitespace trimmed) into
// cf_dns_api_token. Problems are reported under `origin` at `line`, never with the token.
void read_infra_token_file(Infra& infra, const std::string& origin, int line,
                           core::Problems& problems);

// Cross-value checks on the final infra (after environment and flags): tcp/udp/dynamic ports
// need a public address, http_port != https_port. `key_lines` as filled by read_infra.
void validate_infra(const Infra& infra, const std::map<std::string, int>& key_lines,
                    core::Problems& problems);

// Adds the expansion to config.entry_points / config.cert_resolvers (see contract above).
// Uses config.infra and config.state_directory.
void apply_infra_expansion(StaticConfig& config);

}  // namespace portier::config
