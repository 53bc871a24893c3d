#pragma once
// What one provider contributes: its dynamic configuration with bare names, plus the
// problems it found (shown by /routes.json "errors"). Merged into the snapshot by app.
#include <string>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::config {

struct Fragment {
  std::string provider;  // "docker", "file", "internal"
  Dynamic dynamic;
  std::vector<ConfigError> errors;
  bool operator==(const Fragment&) const = default;
};

}  // namespace portier::config
