#pragma once
// Configuration and provider problems, reported all at once, each with where it comes from.
#include <string>
#include <vector>

namespace portier::core {

struct Problem {
  std::string path;     // YAML path or label, e.g. "entryPoints.websecure.address"
  std::string message;  // what is wrong
  int line = 0;         // 1-based source line when known, else 0

  std::string to_string() const {
    std::string s = path.empty() ? message : path + ": " + message;
    if (line > 0) s += " (line " + std::to_string(line) + ")";
    return s;
  }
};

using Problems = std::vector<Problem>;

}  // namespace portier::core
