#pragma once
// The Traefik v3 rule language: parser and validator producing an AST (no matching here; the
// compiled matchers live in proxy/rule_matcher.hpp).
//
// Grammar (usual precedence, `!` > `&&` > `||`):
//   rule    := or
//   or      := and ( "||" and )*
//   and     := unary ( "&&" unary )*
//   unary   := "!" unary | "(" or ")" | matcher
//   matcher := Name "(" [ arg ( "," arg )* ] ")"
//   arg     := `raw` | "Go-escaped"
// Matcher names are accepted in any case and canonicalised ("host" -> "Host"), as Traefik does.
// Traefik v2 leniency: Host, HostSNI, Path, PathPrefix, Method and ClientIP with several
// arguments are desugared into an `or_` of one-argument matchers, so every matcher node in the
// AST has the v3 argument count.
// Thread-safety: pure functions, no shared state.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portier::config {

// constraint: providers.docker.constraints, whose only matchers are Label(`name`, `value`) and
// LabelRegex(`name`, `re2`) (Traefik's pkg/provider/constraints).
enum class RuleKind { http, tcp, constraint };

struct RuleNode {
  enum class Op { matcher, and_, or_, not_ };
  Op op = Op::matcher;
  std::string name;                // canonical matcher name, e.g. "Host", "PathPrefix", "HostSNI"
  std::vector<std::string> args;   // unquoted arguments, as written (not normalised)
  std::vector<RuleNode> children;  // and_/or_: 2+, not_: 1
};

struct ParsedRule {
  std::optional<RuleNode> root;
  std::string error;  // empty on success; otherwise one line naming the column
};

// Parses and validates `text` (matcher names and argument counts for `kind`, empty arguments,
// RE2 regex syntax, IP/CIDR syntax, method tokens, path shape, host names).
ParsedRule parse_rule(std::string_view text, RuleKind kind);

// Host names named by Host()/HostSNI() in positive positions (not under a `!`), normalised
// (normalize_rule_host), deduplicated, in rule order. HostSNI(`*`) is not a name.
std::vector<std::string> rule_host_names(const RuleNode& root);

// The form a Host()/HostSNI() argument is compared in: ASCII lowercase, without a trailing dot
// and without a `:port` suffix (bracketed IPv6 keeps its brackets; a bare IPv6 is unchanged).
std::string normalize_rule_host(std::string_view host);

}  // namespace portier::config
