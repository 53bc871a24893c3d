// libFuzzer target: what the ACME CA and the Cloudflare API answer: ACME problem documents
// (parse_problem, describe_problem), Retry-After values, and Cloudflare v4 envelopes
// (parse_cf_response) with the zone names derived from a challenge domain.
// Input: first byte picks the HTTP status (from a table of the statuses the clients meet);
// the rest is the body (also used as the Retry-After value and the domain).
// Checks: no crash and no exception; a failed Cloudflare answer always has an error text and
// a successful one never has.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "acme/acme_client.hpp"
#include "acme/cloudflare_client.hpp"

using namespace portier::acme;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const unsigned statuses[] = {200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 503, 302};
  unsigned status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  AcmeProblem p = parse_problem(status, body);
  if (p.status != status) std::abort();
  if (describe_problem(p).empty()) std::abort();
  (void)p.rate_limited();
  (void)parse_retry_after(body);

  CfResponse cf = parse_cf_response(status, body);
  if (cf.success == !cf.error.empty()) std::abort();
  if (cf.success && status / 100 != 2) std::abort();
  for (const std::string& zone : zone_candidates(body))
    if (zone.empty() || zone.find('.') == std::string::npos) std::abort();
  return 0;
}
