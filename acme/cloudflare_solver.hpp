#pragma once
// The dns-01 ChallengeSolver over the Cloudflare API: creates the TXT records (tagged), waits for DNS
// propagation, deletes them afterwards. The first time a zone is used in this process, TXT
// records a previous run left behind (name _acme-challenge.*, tagged kRecordComment) are
// deleted first.
//
// Thread: control thread.
#include <set>
#include <string>
#include <vector>

#include "acme/acme_client.hpp"
#include "acme/cloudflare_client.hpp"
#include "config/static_config.hpp"

namespace portier::acme {

class CloudflareSolver : public ChallengeSolver {
 public:
  // `client` and `cleaned_zones` (zone ids already swept this run; a zone whose record could
  // not be deleted leaves it, so the next order there sweeps again) outlive the solver.
  CloudflareSolver(boost::asio::any_io_executor executor, CloudflareClient& client, config::DnsChallenge settings,
                   std::set<std::string>& cleaned_zones,
                   std::chrono::milliseconds poll_interval = std::chrono::milliseconds(2000));

  std::string_view type() const override { return "dns-01"; }
  boost::asio::awaitable<std::string> present(std::vector<Record> records) override;
  boost::asio::awaitable<void> cleanup() override;

  // Deletes leftover tagged challenge records of `zone_id` once per process (no-op after).
  static boost::asio::awaitable<void> sweep_zone(CloudflareClient& client, std::string zone_id,
                                                 std::set<std::string>& cleaned_zones);

 private:
  struct Created {
    std::string zone_id;
    std::string record_id;
    std::string fqdn;
  };
  boost::asio::any_io_executor executor_;
  CloudflareClient& client_;
  config::DnsChallenge settings_;
  std::set<std::string>& cleaned_zones_;
  std::chrono::milliseconds poll_interval_;
  std::vector<Created> created_;
};

}  // namespace portier::acme
