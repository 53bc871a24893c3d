#pragma once
// `portier upgrade --config FILE`: asks the portier running with that configuration for a live
// upgrade (POST /upgrade on its diagnostics address, app/live_upgrade.hpp) and reports the
// outcome: exit 0 once the new process serves, 1 when the upgrade failed (the running process
// keeps serving), 2 when the configuration cannot be read.
#include <map>
#include <string>

#include "app/cli.hpp"

namespace portier::app {

int run_upgrade_command(const CommandLine& cl, const std::map<std::string, std::string>& env);

}  // namespace portier::app
