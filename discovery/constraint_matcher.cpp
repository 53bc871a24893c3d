#include "discovery/constraint_matcher.hpp"

#include <re2/re2.h>

namespace portier::discovery {
namespace {

void collect_regexes(const config::RuleNode& n, std::vector<std::unique_ptr<re2::RE2>>& out) {
  if (n.op == config::RuleNode::Op::matcher) {
    if (n.name == "LabelRegex") {
      RE2::Options options;
      options.set_log_errors(false);
      out.push_back(std::make_unique<re2::RE2>(n.args[1], options));
    }
    return;
  }
  for (const auto& c : n.children) collect_regexes(c, out);
}

const std::string& label_value(const std::map<std::string, std::string>& labels, const std::string& name) {
  static const std::string empty;
  auto it = labels.find(name);
  return it == labels.end() ? empty : it->second;
}

}  // namespace

ConstraintMatcher::~ConstraintMatcher() = default;

std::string ConstraintMatcher::compile(std::string_view expression, std::shared_ptr<const ConstraintMatcher>& out) {
  std::shared_ptr<ConstraintMatcher> m(new ConstraintMatcher());
  if (!expression.empty()) {
    auto parsed = config::parse_rule(expression, config::RuleKind::constraint);
    if (!parsed.error.empty()) return parsed.error;
    m->root_ = std::move(parsed.root);
    collect_regexes(*m->root_, m->regexes_);
  }
  out = std::move(m);
  return {};
}

bool ConstraintMatcher::matches(const std::map<std::string, std::string>& labels) const {
  std::size_t regex = 0;
  return !root_ || eval(*root_, labels, regex);
}

// Evaluates every node (no short-circuit) so that `regex` advances in depth-first order.
bool ConstraintMatcher::eval(const config::RuleNode& n, const std::map<std::string, std::string>& labels,
                             std::size_t& regex) const {
  using Op = config::RuleNode::Op;
  switch (n.op) {
    case Op::not_:
      return !eval(n.children[0], labels, regex);
    case Op::and_:
    case Op::or_: {
      bool all = true, any = false;
      for (const auto& c : n.children) {
        bool v = eval(c, labels, regex);
        all = all && v;
        any = any || v;
      }
      return n.op == Op::and_ ? all : any;
    }
    case Op::matcher:
      if (n.name == "Label") return label_value(labels, n.args[0]) == n.args[1];
      return RE2::PartialMatch(label_value(labels, n.args[0]), *regexes_[regex++]);
  }
  return false;
}

}  // namespace portier::discovery
