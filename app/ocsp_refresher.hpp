#pragma once
// OcspRefresher: keeps an OCSP response in the CertStore for every certificate that names a
// responder (AIA) and carries its issuer in the chain, so the TLS layer can staple it.
//
// Schedule, per certificate: fetch as soon as it appears in the store (new or replaced, from
// files or ACME); after a verified response, fetch again at the middle of its validity window
// [thisUpdate, nextUpdate]; after a failure retry with backoff (10 s doubling up to 1 h),
// keep stapling the last good response until its nextUpdate, then drop it. A failure is logged
// once per certificate (with the URL and the reason) until a fetch succeeds again.
//
// Thread: the control thread only (constructor, start, stop, state_json, and the fetches run
// on `control`). Responses are verified with tls/ocsp.hpp before they are stored.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/task_group.hpp"
#include "tls/cert_store.hpp"
#include "tls/ocsp.hpp"

namespace portier::app {

class OcspRefresher {
 public:
  OcspRefresher(boost::asio::io_context& control, tls::CertStore& store);
  ~OcspRefresher();
  OcspRefresher(const OcspRefresher&) = delete;
  OcspRefresher& operator=(const OcspRefresher&) = delete;

  // Before start(): responses a live upgrade's predecessor stapled (by CertEntry::id). A
  // certificate with one staples it at once, once verified, and fetches at the usual time;
  // otherwise it fetches now.
  void adopt(std::map<std::string, std::string> responses) { carried_ = std::move(responses); }
  // Registers for store changes and fetches for the certificates already there.
  void start();
  // The responses stapled now, by CertEntry::id (for a live upgrade's successor).
  std::map<std::string, std::string> responses() const;
  // Cancels the schedule and the fetches in flight; idle() once they have unwound.
  void stop();
  bool idle() const { return tasks_.empty(); }

  // What /certificates shows for `cert_id`; null when the certificate has no responder URL.
  nlohmann::json state_json(const std::string& cert_id) const;

 private:
  using Clock = std::chrono::system_clock;
  struct State {
    tls::CertEntryPtr entry;
    std::string status = "pending";  // pending, good, revoked, failed, expired, unsupported
    std::string last_error;
    bool has_response = false;
    tls::OcspVerdict verdict;        // of the response in the store, when has_response
    Clock::time_point next_fetch;    // max() = never
    int failures = 0;
    bool in_flight = false;
  };

  void scan();
  void reconcile();
  void arm_timer();
  void fetch(const std::string& id);
  boost::asio::awaitable<void> fetch_task(std::string id, tls::CertEntryPtr entry, std::string der);
  void on_result(const std::string& id, const tls::CertEntryPtr& entry, std::string der, std::string error);
  void staple(State& s, std::string der, const tls::OcspVerdict& v, Clock::time_point now);
  bool adopt_carried(State& s);
  void fail(State& s, const std::string& why, Clock::time_point now);

  boost::asio::io_context& control_;
  tls::CertStore& store_;
  boost::asio::steady_timer timer_;
  std::map<std::string, State> states_;  // by CertEntry::id
  std::map<std::string, std::string> carried_;  // from the predecessor, not yet matched
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool stopped_ = false;
  bool scan_posted_ = false;
  core::TaskGroup tasks_;  // last member: cancelled first on destruction
};

}  // namespace portier::app
