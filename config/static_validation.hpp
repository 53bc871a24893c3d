#pragma once
// The checks of a static configuration once it is read, overridden and expanded: references
// between its parts (redirect targets, resolvers), addresses that cannot all be bound, the
// diagnostics address. Each problem is located by the YAML key lines the reader recorded.
#include <map>
#include <string>

#include "config/static_config.hpp"
#include "core/error.hpp"

namespace portier::config {

// The line of YAML path `path`, 0 when it was not in the file.
int line_at(const std::map<std::string, int>& lines, const std::string& path);
// `origin`: where diagnostics.address came from (the YAML path, or a flag).
void validate_diagnostics(const StaticConfig& c, const std::string& origin,
                          const std::map<std::string, int>& lines, core::Problems& problems);
void validate_entry_points(const StaticConfig& c, const std::map<std::string, int>& lines,
                           core::Problems& problems);
// Also gives each resolver without a storage path {state}/acme.json.
void validate_resolvers(StaticConfig& c, const std::map<std::string, int>& lines,
                        core::Problems& problems);

}  // namespace portier::config
