// libFuzzer target: the static configuration (portier.yml) from text, with infra expansion
// and validation. Input: the YAML text. Checks: no crash and no exception; every problem has
// a message. Files named in the text (token files) are read: the fuzzer may name any path,
// which only ever yields a "cannot read" problem.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "config/static_loader.hpp"

using namespace portier::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const Overrides overrides;
  static const std::map<std::string, std::string> env;
  StaticLoadResult r = load_static_config_text(text, "portier.yml", overrides, env);
  for (const auto& p : r.problems)
    if (p.message.empty()) std::abort();
  return 0;
}
