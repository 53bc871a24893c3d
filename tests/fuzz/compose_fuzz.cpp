// libFuzzer target: `portier check --compose` on compose YAML text (services, their labels in
// list or map form, networks, ports), which feeds the label decoder and the merge.
// Input: the compose file text. Checks: no crash and no exception; every error has a message.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "discovery/compose_check.hpp"

using namespace portier::discovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  DecodeOptions options;
  options.base_domain = "example.com";
  options.entry_points = {"web", "websecure"};
  options.cert_resolvers = {"letsencrypt"};
  ComposeCheckResult r = check_compose_text(text, "/srv/app/docker-compose.yml", options);
  for (const auto& e : r.fragment.errors)
    if (e.message.empty()) std::abort();
  return 0;
}
