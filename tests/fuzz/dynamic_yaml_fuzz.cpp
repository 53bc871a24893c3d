// libFuzzer target: Traefik dynamic YAML (the file provider's format), then what the control
// thread does with a fragment: merge with rule checking, /routes.json, and the /dynamic.yml
// writer. Input: the YAML text. Checks: no crash and no exception (parse_dynamic_yaml
// promises never to throw); a fragment without errors survives the documented round trip
// parse_dynamic_yaml(dynamic_yaml(d)) == d (names without '@', which the writer renames).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/dynamic_json.hpp"
#include "config/dynamic_merge.hpp"
#include "config/dynamic_yaml.hpp"
#include "config/rule.hpp"

using namespace portier::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Fragment f = parse_dynamic_yaml(text, "fuzz.yml");

  RuleChecker check = [](std::string_view rule, bool tcp) {
    return parse_rule(rule, tcp ? RuleKind::tcp : RuleKind::http).error;
  };
  Merged merged = merge_providers({{"file", &f}}, check, {"web", "websecure"});
  (void)routes_json(merged).dump();
  std::string yaml = dynamic_yaml(merged.dynamic);

  if (f.errors.empty() && text.find('@') == std::string_view::npos) {
    Fragment again = parse_dynamic_yaml(dynamic_yaml(f.dynamic), "again.yml");
    if (!again.errors.empty() || !(again.dynamic == f.dynamic)) std::abort();
  }
  return 0;
}
