#include "acme/cloudflare_solver.hpp"

#include "acme/jws.hpp"
#include "acme/propagation_check.hpp"
#include "core/log.hpp"

namespace portier::acme {

namespace asio = boost::asio;
using asio::awaitable;

CloudflareSolver::CloudflareSolver(asio::any_io_executor executor, CloudflareClient& client,
                                   config::DnsChallenge settings, std::set<std::string>& cleaned_zones,
                                   std::chrono::milliseconds poll_interval)
    : executor_(executor),
      client_(client),
      settings_(std::move(settings)),
      cleaned_zones_(cleaned_zones),
      poll_interval_(poll_interval) {}

awaitable<void> CloudflareSolver::sweep_zone(CloudflareClient& client, std::string zone_id,
                                             std::set<std::string>& cleaned_zones) {
  if (!cleaned_zones.insert(zone_id).second) co_return;
  auto list = co_await client.list_challenge_txt(zone_id);
  if (!list.ok()) {
    core::log_warn("acme: cannot list leftover challenge records: ", list.error);
    cleaned_zones.erase(zone_id);  // try again next time
    co_return;
  }
  for (const auto& r : list.value) {
    if (r.comment != kRecordComment) continue;
    auto del = co_await client.delete_record(zone_id, r.id);
    if (del.ok()) core::log_info("acme: deleted leftover challenge record ", r.name);
    else core::log_warn("acme: cannot delete leftover challenge record ", r.name, ": ", del.error);
  }
}

awaitable<std::string> CloudflareSolver::present(std::vector<Record> records) {
  std::vector<PropagationTarget> targets;
  for (const auto& rec : records) {
    // RFC 8555 §8.4: _acme-challenge.DOMAIN TXT base64url(SHA-256(key authorization)).
    std::string fqdn = "_acme-challenge." + rec.domain;
    std::string value = base64url(sha256(rec.key_authorization));
    auto zone = co_await client_.find_zone(rec.domain);
    if (!zone.ok()) co_return zone.error;
    co_await sweep_zone(client_, zone.value.id, cleaned_zones_);
    auto created = co_await client_.create_txt(zone.value.id, fqdn, value);
    if (!created.ok()) co_return created.error;
    Created c;
    c.zone_id = zone.value.id;
    c.record_id = created.value.id;
    c.fqdn = fqdn;
    created_.push_back(std::move(c));
    PropagationTarget t;
    t.fqdn = fqdn;
    t.value = value;
    t.zone = zone.value.name;
    targets.push_back(std::move(t));
    core::log_info("acme: TXT record ", fqdn, " created in zone ", zone.value.name);
  }
  for (const auto& t : targets) {
    std::string why = co_await wait_for_propagation(executor_, settings_, t, poll_interval_);
    if (!why.empty()) co_return why;
  }
  co_return std::string();
}

awaitable<void> CloudflareSolver::cleanup() {
  for (const auto& c : created_) {
    auto del = co_await client_.delete_record(c.zone_id, c.record_id);
    if (!del.ok()) {
      core::log_warn("acme: cannot delete TXT record ", c.fqdn, " (removed by the next order in its zone): ", del.error);
      cleaned_zones_.erase(c.zone_id);  // the next present() in this zone sweeps it again
    }
  }
  created_.clear();
}

}  // namespace portier::acme
