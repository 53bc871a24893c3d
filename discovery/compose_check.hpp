#pragma once
// `portier check --compose FILE`: the docker provider's verdicts, offline, for every service
// of a compose file. Each service stands for one running container named like Docker would
// (container_name, else "{project}-{service}-1"; project = top-level `name:`, else the
// compose file's directory name). Containers without rediacc.service_ip on a bridge network
// get the placeholder address "container-ip" since their IP is only known at run time.
// Pure apart from reading the file; any thread.
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "discovery/label_decoder.hpp"

namespace portier::discovery {

struct ComposeCheckResult {
  config::Fragment fragment;  // merged like the provider does, errors included
  std::vector<PortRequest> ports;  // dynamic ports the services would ask for
  std::vector<std::string> containers;  // the container names checked
  std::vector<config::ConfigError> skipped;  // services the constraints leave out, with why
};

// Reads and checks `path`. A file that cannot be read or parsed is one error (label "").
ComposeCheckResult check_compose_file(const std::string& path, const DecodeOptions& options);

// Same on YAML text; `source_name` is the file name used in errors and for the project.
ComposeCheckResult check_compose_text(const std::string& yaml, const std::string& source_name,
                                      const DecodeOptions& options);

}  // namespace portier::discovery
