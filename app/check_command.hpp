#pragma once
// `portier check`: validates the static configuration, the file provider's dynamic
// configuration and the labels of compose files (--compose), offline. Exit 0 when clean, 1 on any error.
#include <map>
#include <string>

#include "app/cli.hpp"

namespace portier::app {

int run_check(const CommandLine& cl, const std::map<std::string, std::string>& env);

}  // namespace portier::app
