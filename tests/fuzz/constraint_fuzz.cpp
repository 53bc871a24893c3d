// libFuzzer target: providers.docker.constraints (discovery::ConstraintMatcher over the rule
// parser's constraint kind). Built by tests/fuzz/CMakeLists.txt (PORTIER_FUZZ=ON), run by
// tests/fuzz/run.sh.
// Input: the first line is the expression; each further line is a label `name=value`.
// Checks: no crash; an expression compiles or says why; `!(E)` matches exactly when E does
// not, and `(E) && (E)` exactly when E does.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "discovery/constraint_matcher.hpp"
#include "fuzz_input.hpp"

using portier::discovery::ConstraintMatcher;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string expression(portier::fuzz::next_line(in));
  std::map<std::string, std::string> labels;
  while (!in.empty()) {
    std::string_view line = portier::fuzz::next_line(in);
    auto eq = line.find('=');
    labels[std::string(line.substr(0, eq))] = eq == line.npos ? "" : std::string(line.substr(eq + 1));
  }
  std::shared_ptr<const ConstraintMatcher> m;
  std::string error = ConstraintMatcher::compile(expression, m);
  if (error.empty() != static_cast<bool>(m)) std::abort();
  if (!m || expression.empty()) return 0;
  bool match = m->matches(labels);
  std::shared_ptr<const ConstraintMatcher> negated, doubled;
  if (!ConstraintMatcher::compile("!(" + expression + ")", negated).empty()) std::abort();
  if (negated->matches(labels) == match) std::abort();
  if (!ConstraintMatcher::compile("(" + expression + ") && (" + expression + ")", doubled).empty()) std::abort();
  if (doubled->matches(labels) != match) std::abort();
  return 0;
}
