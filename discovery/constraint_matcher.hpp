#pragma once
// providers.docker.constraints: Traefik's label expression (pkg/provider/constraints),
// `Label(`name`, `value`)` and `LabelRegex(`name`, `re2`)` combined with `!`, `&&`, `||` and
// parentheses, parsed by the rule parser (config::RuleKind::constraint). A label the container
// does not have reads as "", and LabelRegex matches anywhere in the value (Go's
// regexp.MatchString), as in Traefik.
//
// Immutable once built; matches() may run on any thread.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rule.hpp"

namespace re2 {
class RE2;
}

namespace portier::discovery {

class ConstraintMatcher {
 public:
  // Parses `expression`; "" on success, else what is wrong (with its column). An empty
  // expression matches every container.
  static std::string compile(std::string_view expression, std::shared_ptr<const ConstraintMatcher>& out);

  ~ConstraintMatcher();
  bool matches(const std::map<std::string, std::string>& labels) const;

 private:
  ConstraintMatcher() = default;
  bool eval(const config::RuleNode& n, const std::map<std::string, std::string>& labels, std::size_t& regex) const;

  std::optional<config::RuleNode> root_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;  // LabelRegex nodes, in depth-first order
};

}  // namespace portier::discovery
