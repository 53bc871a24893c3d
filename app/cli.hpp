#pragma once
// Command line of the portier binary (SPEC 1).
#include <optional>
#include <string>
#include <vector>

#include "config/static_loader.hpp"

namespace portier::app {

struct CommandLine {
  enum class Command { run, check, configure, upgrade, version, help };
  Command command = Command::run;
  std::string config_path = "/etc/portier/portier.yml";
  config::Overrides overrides;
  std::vector<std::string> compose_files;  // check --compose
  bool docker = false;                     // check --docker: the labels of running containers
  std::string format = "text";             // check --format text|json
};

// Parses argv. On a usage error returns nullopt and sets *error.
std::optional<CommandLine> parse_command_line(int argc, char** argv, std::string* error);
const char* usage_text();

}  // namespace portier::app
