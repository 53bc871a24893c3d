#pragma once
// Merging provider fragments into one validated Dynamic (SPEC 3): names qualified
// "name@provider", references resolved, invalid items dropped with their reasons.
// Pure function of its inputs; runs on the control thread.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::config {

// Checks a router rule: "" = valid, else what is wrong. Injected because the rule parser is a
// separate component; `tcp` selects the TCP rule language (HostSNI, ...).
using RuleChecker = std::function<std::string(std::string_view rule, bool tcp)>;

// A router that was dropped, kept so /routes.json can show it with status "disabled".
struct DisabledRouter {
  std::string kind;                                       // "http" | "tcp" | "udp"
  std::string error;                                      // every reason, joined with "; "
  std::variant<HttpRouter, TcpRouter, UdpRouter> router;  // references already qualified
  bool operator==(const DisabledRouter&) const = default;
};

struct Merged {
  Dynamic dynamic;  // only valid, enabled items; keys "name@provider"; references qualified
  std::map<std::string, DisabledRouter> disabled;  // qualified router name -> why dropped
  std::vector<ConfigError> errors;  // fragment errors (provider order) then validation errors
  bool operator==(const Merged&) const = default;
};

// "name" -> "name@provider"; a name that already has '@' is returned unchanged.
std::string qualify(std::string_view name, std::string_view provider);

// providers: provider name ("docker", "file", "internal") -> its fragment (non-null). A
// reference without '@' resolves within the referring item's provider. entry_points: known
// entrypoint names; an empty set disables that check. TLS options named "default" and TLS
// stores stay unqualified (Traefik's global names); defining one twice is an error, the first
// provider in name order wins. Deterministic: identical input gives identical output.
Merged merge_providers(const std::map<std::string, const Fragment*>& providers,
                       const RuleChecker& check_rule, const std::set<std::string>& entry_points);

}  // namespace portier::config
