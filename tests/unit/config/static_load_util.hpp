#pragma once
// Helpers of the static-loader tests: load a YAML text, find a problem by path and text.
#include <map>
#include <string>

#include "config/static_loader.hpp"

namespace portier::config::test {

using Env = std::map<std::string, std::string>;

inline StaticLoadResult load(const std::string& yaml, const Overrides& overrides = {}, const Env& env = {}) {
  return load_static_config_text(yaml, "test.yml", overrides, env);
}

inline std::string all(const StaticLoadResult& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

// True when some problem has exactly this path, contains `text`, and (if line > 0) that line.
inline bool has(const StaticLoadResult& r, const std::string& path, const std::string& text, int line = 0) {
  for (const auto& p : r.problems)
    if (p.path == path && p.message.find(text) != std::string::npos && (line == 0 || p.line == line)) return true;
  return false;
}

}  // namespace portier::config::test
