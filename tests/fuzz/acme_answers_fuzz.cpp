// libFuzzer target: what the ACME CA and the Cloudflare API answer. ACME: problem documents
// (parse_problem, describe_problem), Retry-After values, and the order, authorization and
// challenge objects (parse_order, parse_authorization, object_problem). Cloudflare: v4
// envelopes (parse_cf_response) and their results: the zone list, one record, a record list
// (parse_zone_list, parse_record, parse_challenge_records), with the zone names derived from
// a challenge domain. Link header values (alternate_links, for preferredChain).
// Input: first byte picks the HTTP status (from a table of the statuses the clients meet);
// the rest is the body (also used as the Retry-After value and the domain).
// Checks: no crash and no exception; a failed Cloudflare answer always has an error text and
// a successful one never has; what the readers return keeps their contracts (authorization
// URLs, a zone with an id, only "_acme-challenge." records).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "acme/acme_client.hpp"
#include "acme/cloudflare_client.hpp"

using namespace portier::acme;

namespace {

void read_acme_objects(const nlohmann::json& j) {
  OrderInfo order = parse_order(j);
  if (!j.is_object() && !(order.status.empty() && order.authorizations.empty())) std::abort();
  AuthorizationInfo authz = parse_authorization(j);
  if (!j.is_object() && !(authz.domain.empty() && authz.challenges.empty())) std::abort();
  for (const ChallengeInfo& c : authz.challenges)
    if (c.type.empty() || c.url.empty() || c.token.empty() || authz.challenge(c.type) == nullptr) std::abort();
  AcmeProblem p = object_problem(j);
  (void)describe_problem(p);
}

void read_cloudflare_result(const nlohmann::json& result) {
  if (auto zone = parse_zone_list(result, "fallback.example"); zone && (zone->id.empty() || zone->name.empty()))
    std::abort();
  (void)parse_record(result);
  for (const CfRecord& r : parse_challenge_records(result))
    if (r.name.rfind("_acme-challenge.", 0) != 0) std::abort();
}

}  // namespace

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

  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    read_acme_objects(j);
    read_cloudflare_result(j);
  }

  CfResponse cf = parse_cf_response(status, body);
  if (cf.success == !cf.error.empty()) std::abort();
  if (cf.success && status / 100 != 2) std::abort();
  if (cf.success) read_cloudflare_result(cf.result);
  for (const std::string& url : alternate_links({body}))
    if (url.empty() || body.find(url) == std::string::npos) std::abort();
  for (const std::string& zone : zone_candidates(body))
    if (zone.empty() || zone.find('.') == std::string::npos) std::abort();
  return 0;
}
