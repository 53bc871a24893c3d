#pragma once
// AcmeManager: owns every certificate resolver (certificatesResolvers.*.acme) of the static
// configuration. Loads Traefik-format acme.json storage into the CertStore (source "acme"),
// obtains certificates the configuration demands and does not have yet (by tls-alpn-01,
// http-01 or dns-01, preferred in that order as lego does, among the challenges a resolver
// configures and the CA offers), renews them before they expire (certificatesDuration), and
// reports its state for /certificates and /health.
//
// Thread: the control thread's io_context; every method is called from that thread. Orders
// run one at a time in one background coroutine; a CA or Cloudflare outage only delays
// certificates, serving never waits for it.
//
// Environment (the map given to the constructor): CF_API_BASE_URL (Cloudflare API base,
// default https://api.cloudflare.com/client/v4), CF_DNS_API_TOKEN / CLOUDFLARE_DNS_API_TOKEN /
// CF_DNS_API_TOKEN_FILE when infra.cf_dns_api_token is empty, LEGO_CA_CERTIFICATES (extra
// trusted roots for the CA, paths separated by ':' or ','), CF_HTTP_TIMEOUT (seconds per
// Cloudflare API request, as lego reads it), PORTIER_ACME_BACKOFF_SECONDS (first retry delay
// after a failure; tests).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "acme/cert_demands.hpp"
#include "config/static_config.hpp"
#include "core/error.hpp"
#include "core/task_group.hpp"
#include "acme/acme_client.hpp"
#include "tls/acme_challenges.hpp"
#include "tls/acme_json.hpp"
#include "tls/cert_store.hpp"

namespace portier::acme {

class CloudflareClient;

// Traefik's getCertificateRenewDurations: for certificatesDuration (hours), how long before
// expiry a certificate is renewed and how often that is checked (2160 h: 30 days, 1 day).
struct RenewWindow {
  std::chrono::minutes before;
  std::chrono::minutes interval;
};
RenewWindow renew_window(int certificates_duration_hours);

struct AcmeManagerOptions {
  // Overrides every resolver's renew_window().before when set (tests).
  std::optional<std::chrono::hours> renew_before;
  // The longest time between renewal checks; a resolver's renew_window().interval may be shorter.
  std::chrono::hours check_interval{12};
  std::chrono::seconds backoff_base{60};
  std::chrono::seconds backoff_cap{std::chrono::hours(6)};
  std::chrono::milliseconds propagation_poll{2000};
};

// One resolver's certificate orders since start (portier_acme_* metrics): an order is one
// attempt at a certificate (account, order, challenges, finalize): started, then succeeded
// or failed once it ends.
struct OrderCounts {
  std::string resolver;
  uint64_t started = 0, succeeded = 0, failed = 0;
  std::chrono::system_clock::time_point last_failure{};  // epoch: none yet
};

class AcmeManager {
 public:
  // `cfg` and `store` outlive the manager.
  AcmeManager(boost::asio::io_context& control, const config::StaticConfig& cfg, tls::CertStore& store,
              std::map<std::string, std::string> env, AcmeManagerOptions options = {});
  ~AcmeManager();
  AcmeManager(const AcmeManager&) = delete;
  AcmeManager& operator=(const AcmeManager&) = delete;

  // Before listeners open: reads every resolver's storage into the CertStore. A file wider
  // than 0600, unreadable or not acme.json is reported (and never overwritten); bad entries
  // are skipped and reported.
  core::Problems load_storage();
  // Starts the background work: leftover challenge cleanup, renewal checks at once and every
  // check_interval, and orders for demands.
  void start();
  // The certificates the configuration wants (certificate_demands()); names not covered by a
  // stored certificate are requested soon, failures back off per certificate.
  void update_demands(std::vector<CertDemand> demands);
  // GET /certificates: every served certificate plus demands still pending or failing.
  nlohmann::json certificates_json() const;
  // For /health: {"status":"ok"|"degraded","resolvers":[…]}.
  nlohmann::json health_json() const;
  // True when some resolver or demand is in error, or a storage file could not be written
  // (health "degraded").
  bool degraded() const;
  // Every configured resolver's order counts, by name.
  std::vector<OrderCounts> order_counts() const;
  // Storage path -> why the last write failed (disk full, read-only). The file on disk stays
  // whole (atomic replacement); the write is retried every backoff_base until it succeeds.
  const std::map<std::string, std::string>& storage_errors() const { return storage_errors_; }
  // Cancels the background work (an order in flight is abandoned; its TXT records are swept
  // at the next start). idle() once it has unwound (core/task_group.hpp).
  void stop();
  bool idle() const { return tasks_.empty(); }

  // Before start(): where HTTP-01 and TLS-ALPN-01 answers go (httpChallenge, tlsChallenge);
  // without it only dnsChallenge works. `challenges` outlives the manager.
  void set_challenge_answers(tls::AcmeChallenges& challenges) { challenges_ = &challenges; }

  // Called on the control thread after a certificate was obtained and stored.
  void set_on_certificate(std::function<void(const std::vector<std::string>&)> callback);

 private:
  struct Resolver;
  struct DemandState;

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> sweep_stored_zones();
  boost::asio::awaitable<void> work_once();
  boost::asio::awaitable<bool> ensure_account(Resolver& r);
  boost::asio::awaitable<void> order(Resolver& r, DemandState& d);
  void wake();
  void publish_entries();
  std::string save(Resolver& r);
  void retry_failed_saves();
  void record_failure(DemandState& d, const std::string& error, std::chrono::seconds retry_after);
  std::vector<std::string> ca_files(const config::CertResolver& cr) const;
  std::string token() const;
  std::vector<std::unique_ptr<ChallengeSolver>> solvers_for(const Resolver& r);
  std::chrono::steady_clock::time_point next_due() const;

  boost::asio::io_context& control_;
  const config::StaticConfig& cfg_;
  tls::CertStore& store_;
  std::map<std::string, std::string> env_;
  AcmeManagerOptions options_;
  std::map<std::string, std::unique_ptr<Resolver>> resolvers_;
  std::map<std::string, tls::AcmeStore> files_;       // storage path -> content
  std::set<std::string> unusable_files_;               // never overwritten
  std::map<std::string, std::string> storage_errors_;  // storage path -> last write error
  std::chrono::steady_clock::time_point storage_retry_at_{};
  std::map<std::string, DemandState> demands_;         // resolver + names
  std::unique_ptr<CloudflareClient> cloudflare_;
  tls::AcmeChallenges* challenges_ = nullptr;
  std::set<std::string> cleaned_zones_;
  boost::asio::steady_timer wake_timer_;
  std::chrono::steady_clock::time_point next_renewal_check_{};
  std::function<void(const std::vector<std::string>&)> on_certificate_;
  std::shared_ptr<bool> alive_;
  bool started_ = false;
  bool stopped_ = false;
  bool dirty_ = false;
  bool working_ = false;
  core::TaskGroup tasks_;  // last member: cancelled first on destruction
};

}  // namespace portier::acme
