// libFuzzer target: Traefik's acme.json (tls::parse_acme_json), the file portier shares with
// Traefik and reads at every start. Input: the file text.
// Checks: no crash and no exception; a usable store written back (acme_json_text) reads back
// identical and usable, so a rewrite never loses what was read.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tls/acme_json.hpp"

using namespace portier::tls;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  AcmeJsonResult r = parse_acme_json(text);
  if (!r.ok) return 0;
  std::string written = acme_json_text(r.store);
  AcmeJsonResult again = parse_acme_json(written);
  if (!again.ok || !(again.store == r.store) || !again.problems.empty()) std::abort();
  return 0;
}
