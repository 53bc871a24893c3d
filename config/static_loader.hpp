#pragma once
// Loads portier.yml (Traefik v3 static YAML subset + portier blocks, SPEC 2) into StaticConfig.
//
// Order: file -> environment -> command-line flags -> infra expansion -> validation.
// - Environment: CF_DNS_API_TOKEN (alias CLOUDFLARE_DNS_API_TOKEN; the former wins when both
//   are set), CF_DNS_API_TOKEN_FILE, CERTBOT_EMAIL. Empty values count as unset. A token given
//   directly (env or flag) replaces a token file from an earlier layer, and vice versa.
//   The token file (infra.cf_dns_api_token_file or CF_DNS_API_TOKEN_FILE) is read here,
//   surrounding whitespace trimmed.
// - Every problem is reported at once, each with its YAML path (or flag / variable name) and
//   line; the result is usable only when ok().
// Pure function of its inputs except for reading the config file and the token file; callable
// from any thread.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/static_config.hpp"
#include "core/error.hpp"

namespace portier::config {

// Command-line flags (SPEC 1), each optional. Infra flags also enable infra expansion.
struct Overrides {
  std::optional<std::string> public_ipv4, public_ipv6, base_domain, cert_email, cf_dns_token,
      diag_address, state_dir, log_level;
  std::optional<std::vector<uint16_t>> tcp_ports, udp_ports;
  std::vector<std::string> docker_endpoints;  // --docker-endpoint, repeatable; replaces the
                                              // file's list when non-empty
};

struct StaticLoadResult {
  StaticConfig config;
  core::Problems problems;
  // What loads but is worth saying: keys Traefik ignores too (unknown root keys), keys whose
  // feature portier does not serve yet (http3). `run` and `check` print them.
  core::Problems warnings;
  bool ok() const { return problems.empty(); }
};

// Default docker endpoints when providers.docker gives none (SPEC 4).
inline const std::vector<std::string>& default_docker_endpoints() {
  static const std::vector<std::string> v{"unix:///var/run/rediacc/docker-*.sock",
                                          "unix:///run/rediacc/docker-*.sock"};
  return v;
}

// `source` names the text in problems about the file as a whole (syntax errors).
StaticLoadResult load_static_config_text(std::string_view yaml, const std::string& source,
                                         const Overrides& overrides,
                                         const std::map<std::string, std::string>& env);

// A missing or unreadable file is one problem naming the path.
StaticLoadResult load_static_config_file(const std::string& path, const Overrides& overrides,
                                         const std::map<std::string, std::string>& env);

}  // namespace portier::config
