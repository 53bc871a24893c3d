#pragma once
// `portier configure`: takes the JSON that `renet proxy configure` receives and writes the
// `infra:` block of portier.yml (SPEC 1).
//
// JSON keys: public_ipv4, public_ipv6, base_domain, cert_email, cf_dns_api_token (strings),
// tcp_ports, udp_ports (arrays of ports, or a "25,143" string), machine_name (string, optional).
// null or "" means "not set". Any other key, or a bad value, is a problem and nothing is written.
//
// What is written:
// - The JSON is the full set of renet-managed settings: each of the seven keys above is set from
//   the JSON, or removed from the block when absent. Other infra keys already in the file
//   (http_port, https_port, dynamic_tcp_ports, cf_dns_api_token_file) are kept, except that a
//   token given in the JSON removes cf_dns_api_token_file.
// - machine_name is kept as a comment line inside the block ("# machine: NAME"), for operators.
// - Only the top-level `infra:` block is replaced, textually: the rest of the file, comments
//   included, is kept byte for byte (comments inside the old infra block are lost). When the file
//   does not use block style at the top level, the whole document is re-emitted by yaml-cpp and
//   all comments are lost. A missing file is created with just the block.
// - The result must still load: problems that the static loader reports under `infra` reject it.
// - Written atomically with mode 0600 (it holds the token).
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace portier::config {

struct InfraRewrite {
  std::string text;  // the new file content, valid only when problems is empty
  core::Problems problems;
};

// Pure part of configure_infra: `current` is the file's text ("" when missing).
InfraRewrite rewrite_infra_block(std::string_view current, std::string_view json);

// Validates `json`, rewrites the infra block of `config_path` atomically (mode 0600).
// Returns the problems; empty = written.
core::Problems configure_infra(const std::string& config_path, std::string_view json);

}  // namespace portier::config
