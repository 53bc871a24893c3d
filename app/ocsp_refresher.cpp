#include "app/ocsp_refresher.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <set>

#include "core/http_client.hpp"
#include "core/log.hpp"

namespace portier::app {

namespace asio = boost::asio;

namespace {

constexpr auto kFirstRetry = std::chrono::seconds(10);
constexpr auto kMaxRetry = std::chrono::hours(1);
constexpr auto kMinRefresh = std::chrono::seconds(5);

// "http://host:port/path" -> {"http://host:port", "/path"}.
std::pair<std::string, std::string> split_url(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return {url, "/"};
  return {url.substr(0, slash), url.substr(slash)};
}

asio::awaitable<core::HttpResult> post_request(std::string url, std::string der) {
  auto [origin, path] = split_url(url);
  core::HttpClientOptions opt;
  opt.connect_timeout = std::chrono::seconds(5);
  opt.request_timeout = std::chrono::seconds(15);
  opt.body_limit = 1024 * 1024;
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  core::HttpClient client(executor, origin, opt);
  core::HttpRequest req;
  req.method = "POST";
  req.target = path;
  req.headers.emplace_back("Content-Type", "application/ocsp-request");
  req.headers.emplace_back("Accept", "application/ocsp-response");
  req.body = std::move(der);
  core::HttpResult result = co_await client.request(std::move(req));
  co_return result;
}

// When to fetch again after a verified response: the middle of its validity window, or,
// when the responder handed out a response already past its middle, half of what is left.
std::chrono::system_clock::time_point refresh_time(const tls::OcspVerdict& v, std::chrono::system_clock::time_point now) {
  auto middle = v.this_update + (v.next_update - v.this_update) / 2;
  if (middle > now + kMinRefresh) return middle;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(v.next_update - now) / 2;
  return now + std::clamp<std::chrono::seconds>(left, kMinRefresh, kMaxRetry);
}

}  // namespace

OcspRefresher::OcspRefresher(asio::io_context& control, tls::CertStore& store)
    : control_(control), store_(store), timer_(control), tasks_(control.get_executor(), "ocsp") {}

OcspRefresher::~OcspRefresher() {
  *alive_ = false;
  store_.on_change({});
}

void OcspRefresher::start() {
  store_.on_change([this] {
    if (scan_posted_ || stopped_) return;
    scan_posted_ = true;
    asio::post(control_, [this, alive = alive_] {
      if (!*alive) return;
      scan_posted_ = false;
      scan();
    });
  });
  scan();
}

void OcspRefresher::stop() {
  stopped_ = true;
  tasks_.cancel();
  timer_.cancel();
  store_.on_change({});
}

// Tracks the store's current certificates: new ones are due now, removed ones lose their
// stapled response.
void OcspRefresher::reconcile() {
  std::set<std::string> present;
  for (const auto& e : store_.all_entries()) {
    if (!e || e->ocsp_url.empty() || !present.insert(e->id).second) continue;
    auto [it, added] = states_.try_emplace(e->id);
    if (!added) continue;
    State& s = it->second;
    s.entry = e;
    if (!tls::find_issuer(*e)) {
      s.status = "unsupported";
      s.last_error = "the issuer certificate is not in the chain";
      s.next_fetch = Clock::time_point::max();
      core::log_warn("ocsp: ", e->names.empty() ? e->id : e->names.front(), ": no stapling, ", s.last_error);
    } else if (!adopt_carried(s)) {
      s.next_fetch = Clock::now();
    }
  }
  for (auto it = states_.begin(); it != states_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.has_response) store_.set_ocsp_response(it->first, "");
    it = states_.erase(it);
  }
}

void OcspRefresher::scan() {
  if (stopped_) return;
  reconcile();
  auto now = Clock::now();
  for (auto& [id, s] : states_) {
    if (s.has_response && now >= s.verdict.next_update) {
      store_.set_ocsp_response(id, "");
      s.has_response = false;
      s.status = "expired";
      core::log_warn("ocsp: ", s.entry->names.empty() ? id : s.entry->names.front(),
                     ": the stapled response expired, no response is stapled until a fetch succeeds");
    }
    if (!s.in_flight && now >= s.next_fetch) fetch(id);
  }
  arm_timer();
}

void OcspRefresher::arm_timer() {
  auto next = Clock::time_point::max();
  for (const auto& [id, s] : states_) {
    if (!s.in_flight) next = std::min(next, s.next_fetch);
    if (s.has_response) next = std::min(next, s.verdict.next_update);
  }
  if (next == Clock::time_point::max()) {
    timer_.cancel();
    return;
  }
  auto wait = std::max<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(10));
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive) scan();
  });
}

void OcspRefresher::fetch(const std::string& id) {
  State& s = states_.at(id);
  auto req = tls::make_ocsp_request(*s.entry);
  if (!req.error.empty()) {
    fail(s, req.error, Clock::now());
    return;
  }
  s.in_flight = true;
  tasks_.spawn(fetch_task(id, s.entry, std::move(req.der)), "fetch " + s.entry->ocsp_url);
}

asio::awaitable<void> OcspRefresher::fetch_task(std::string id, tls::CertEntryPtr entry, std::string der) {
  core::HttpResult r;
  try {
    r = co_await post_request(entry->ocsp_url, std::move(der));
  } catch (const std::exception& e) {
    if (stopped_) throw;  // cancelled by stop()
    r.error = std::string("internal error: ") + e.what();
  }
  std::string error = r.error;
  if (error.empty() && r.response.status != 200) error = "HTTP status " + std::to_string(r.response.status);
  on_result(id, entry, std::move(r.response.body), std::move(error));

}

void OcspRefresher::on_result(const std::string& id, const tls::CertEntryPtr& entry, std::string der,
                              std::string error) {
  auto it = states_.find(id);
  if (it == states_.end() || it->second.entry != entry) return;  // removed meanwhile
  State& s = it->second;
  s.in_flight = false;
  auto now = Clock::now();
  tls::OcspVerdict v;
  if (error.empty()) {
    v = tls::verify_ocsp_response(*entry, der, now);
    error = v.error;
  }
  if (!error.empty()) {
    fail(s, error, now);
  } else {
    if (s.failures > 0 || s.status != tls::to_string(v.status))
      core::log_info("ocsp: ", entry->names.empty() ? id : entry->names.front(), ": stapling a \"",
                     tls::to_string(v.status), "\" response valid until ", tls::iso8601(v.next_update));
    staple(s, std::move(der), v, now);
  }
  if (!stopped_) arm_timer();
}

void OcspRefresher::staple(State& s, std::string der, const tls::OcspVerdict& v, Clock::time_point now) {
  store_.set_ocsp_response(s.entry->id, std::move(der));
  s.has_response = true;
  s.verdict = v;
  s.status = tls::to_string(v.status);
  s.last_error.clear();
  s.failures = 0;
  s.next_fetch = refresh_time(v, now);
}

// A response the predecessor stapled for this certificate, verified again (it may have expired
// meanwhile): true when it is stapled now.
bool OcspRefresher::adopt_carried(State& s) {
  auto carried = carried_.extract(s.entry->id);
  if (carried.empty()) return false;
  auto now = Clock::now();
  tls::OcspVerdict v = tls::verify_ocsp_response(*s.entry, carried.mapped(), now);
  if (!v.error.empty()) return false;
  core::log_info("ocsp: ", s.entry->names.empty() ? s.entry->id : s.entry->names.front(),
                 ": stapling the response taken over from the previous process, valid until ",
                 tls::iso8601(v.next_update));
  staple(s, std::move(carried.mapped()), v, now);
  return true;
}

std::map<std::string, std::string> OcspRefresher::responses() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, s] : states_)
    if (s.has_response)
      if (auto der = store_.ocsp_response(id); der && !der->empty()) out.emplace(id, *der);
  return out;
}

void OcspRefresher::fail(State& s, const std::string& why, Clock::time_point now) {
  if (s.failures == 0)
    core::log_warn("ocsp: ", s.entry->names.empty() ? s.entry->id : s.entry->names.front(), ": fetching from ",
                   s.entry->ocsp_url, " failed: ", why, s.has_response ? " (the last good response stays stapled)" : "");
  ++s.failures;
  s.last_error = why;
  if (!s.has_response) s.status = "failed";
  auto backoff = kFirstRetry * (1 << std::min(s.failures - 1, 9));
  s.next_fetch = now + std::min<Clock::duration>(backoff, kMaxRetry);
}

nlohmann::json OcspRefresher::state_json(const std::string& cert_id) const {
  auto it = states_.find(cert_id);
  if (it == states_.end()) return nullptr;
  const State& s = it->second;
  nlohmann::json j = {{"status", s.status}, {"responder", s.entry->ocsp_url}, {"stapled", s.has_response}};
  if (s.has_response) {
    j["this_update"] = tls::iso8601(s.verdict.this_update);
    j["next_update"] = tls::iso8601(s.verdict.next_update);
  }
  if (!s.last_error.empty()) j["last_error"] = s.last_error;
  if (s.failures > 0) j["failures"] = s.failures;
  if (s.next_fetch != Clock::time_point::max()) j["next_fetch"] = tls::iso8601(s.next_fetch);
  return j;
}

}  // namespace portier::app
