#include "acme/acme_manager.hpp"

#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <filesystem>

#include "acme/acme_client.hpp"
#include "acme/cloudflare_client.hpp"
#include "acme/cloudflare_solver.hpp"
#include "acme/csr.hpp"
#include "acme/jws.hpp"
#include "acme/listener_solvers.hpp"
#include "core/atomic_file.hpp"
#include "core/log.hpp"

namespace portier::acme {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct AcmeManager::Resolver {
  std::string name;
  config::CertResolver cfg;
  std::string path;  // storage file
  tls::KeyKind kind = tls::KeyKind::ec_p256;
  std::string config_error;  // resolver cannot work at all (shown in /health)
  std::unique_ptr<AcmeClient> client;
  RenewWindow renew{};
  bool registered = false;
  std::string last_error;  // last account/CA-level error, "" once an order succeeds
  OrderCounts orders;
};

struct AcmeManager::DemandState {
  std::string resolver;
  std::vector<std::string> names;
  std::string router;
  bool wanted = false;       // in the latest update_demands()
  bool renewal = false;      // a stored certificate close to expiry
  bool in_progress = false;
  int failures = 0;
  Clock::time_point next_attempt{};
  std::string last_error;
};

namespace {

std::string join(const std::vector<std::string>& names, const char* sep = ",") {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : sep) + n;
  return out;
}

std::string demand_key(const std::string& resolver, const std::vector<std::string>& names) {
  return resolver + "\n" + join(names);
}

std::vector<std::string> cert_names(const tls::AcmeCertificate& c) {
  std::vector<std::string> names{c.main};
  for (const auto& s : c.sans)
    if (std::find(names.begin(), names.end(), s) == names.end()) names.push_back(s);
  return names;
}

bool same_names(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// notAfter of the first certificate in `pem`; nullopt when unparsable.
std::optional<std::chrono::system_clock::time_point> leaf_not_after(const std::string& pem) {
  std::string error;
  auto chain = tls::load_certificates_pem(pem, error);
  if (chain.empty()) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(chain.front().get()), &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::vector<std::string> split_paths(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ':' || c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string private_key_der(EVP_PKEY* key) {
  int len = i2d_PrivateKey(key, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PrivateKey(key, &p);
  return der;
}

}  // namespace

RenewWindow renew_window(int duration) {
  using std::chrono::hours;
  using std::chrono::minutes;
  if (duration >= 365 * 24) return {hours(4 * 30 * 24), hours(7 * 24)};
  if (duration >= 3 * 30 * 24) return {hours(30 * 24), hours(24)};
  if (duration >= 30 * 24) return {hours(10 * 24), hours(12)};
  if (duration >= 6 * 24) return {hours(2 * 24), hours(2)};
  if (duration >= 24) return {hours(6), minutes(10)};
  return {minutes(20), minutes(1)};
}

AcmeManager::AcmeManager(asio::io_context& control, const config::StaticConfig& cfg, tls::CertStore& store,
                         std::map<std::string, std::string> env, AcmeManagerOptions options)
    : control_(control),
      cfg_(cfg),
      store_(store),
      env_(std::move(env)),
      options_(options),
      wake_timer_(control),
      alive_(std::make_shared<bool>(true)),
      tasks_(control.get_executor(), "acme") {
  if (auto it = env_.find("PORTIER_ACME_BACKOFF_SECONDS"); it != env_.end() && !it->second.empty())
    options_.backoff_base = std::chrono::seconds(std::max(1L, std::atol(it->second.c_str())));
  for (const auto& [name, cr] : cfg_.cert_resolvers) {
    auto r = std::make_unique<Resolver>();
    r->name = name;
    r->cfg = cr;
    r->path = cr.storage.empty() ? cfg_.state_directory + "/acme.json" : cr.storage;
    if (!parse_key_type(cr.key_type.empty() ? "EC256" : cr.key_type, r->kind))
      r->config_error = "keyType " + cr.key_type + " is not supported (EC256, EC384, RSA2048, RSA4096)";
    if (!cr.dns_challenge && !cr.http_challenge && !cr.tls_challenge)
      r->config_error = "no challenge configured (dnsChallenge, httpChallenge or tlsChallenge)";
    r->renew = renew_window(cr.certificates_duration);
    AcmeClientOptions co;
    co.directory_url = cr.ca_server;
    co.http.extra_ca_files = ca_files(cr);
    co.preferred_chain = cr.preferred_chain;
    if (cr.eab) {
      auto hmac = base64url_decode(cr.eab->hmac_encoded);
      if (!hmac || hmac->empty()) r->config_error = "eab.hmacEncoded is not base64url";
      else co.eab = AccountBinding{cr.eab->kid, *hmac};
    }
    r->client = std::make_unique<AcmeClient>(control_.get_executor(), co);
    resolvers_[name] = std::move(r);
  }
}

AcmeManager::~AcmeManager() {
  *alive_ = false;
  stopped_ = true;
}

std::vector<std::string> AcmeManager::ca_files(const config::CertResolver& cr) const {
  std::vector<std::string> files = cr.ca_certificates;
  if (auto it = env_.find("LEGO_CA_CERTIFICATES"); it != env_.end())
    for (auto& p : split_paths(it->second)) files.push_back(p);
  return files;
}

std::string AcmeManager::token() const {
  if (!cfg_.infra.cf_dns_api_token.empty()) return cfg_.infra.cf_dns_api_token;
  for (const char* var : {"CF_DNS_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN"})
    if (auto it = env_.find(var); it != env_.end() && !it->second.empty()) return it->second;
  if (auto it = env_.find("CF_DNS_API_TOKEN_FILE"); it != env_.end() && !it->second.empty()) {
    auto text = core::read_file(it->second);
    if (text) {
      while (!text->empty() && std::isspace(static_cast<unsigned char>(text->back()))) text->pop_back();
      return *text;
    }
  }
  return {};
}

core::Problems AcmeManager::load_storage() {
  core::Problems problems;
  for (auto& [name, r] : resolvers_) {
    if (files_.count(r->path)) continue;
    auto result = tls::read_acme_json_file(r->path);
    std::string where = "certificatesResolvers." + name + ".acme.storage";
    for (auto& p : result.problems) {
      p.path = where + (p.path.empty() || p.path == "acme.json" ? "" : " " + p.path);
      problems.push_back(p);
    }
    if (!result.ok) {
      unusable_files_.insert(r->path);
      if (result.problems.empty()) problems.push_back({where, r->path + ": cannot be used"});
      r->config_error = "storage " + r->path + " is unusable (see the log); it is never overwritten";
    }
    files_[r->path] = std::move(result.store);
  }
  publish_entries();
  std::size_t n = store_.entries("acme").size();
  core::log_info("acme: ", n, " stored certificate", n == 1 ? "" : "s", " loaded");
  return problems;
}

void AcmeManager::publish_entries() {
  std::vector<tls::CertEntryPtr> entries;
  for (const auto& [name, r] : resolvers_) {
    auto& data = files_[r->path][name];
    for (const auto& c : data.certificates) {
      auto e = tls::make_cert_entry(c.certificate_pem, c.key_pem, "acme", name);
      if (e.entry) entries.push_back(e.entry);
      else core::log_warn("acme: stored certificate ", c.main, " (resolver ", name, ") skipped: ", e.error);
    }
  }
  store_.set_source_entries("acme", std::move(entries));
}

std::string AcmeManager::save(Resolver& r) {
  if (unusable_files_.count(r.path)) return "storage " + r.path + " is unusable, not overwritten";
  std::error_code ec;
  auto parent = std::filesystem::path(r.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string error = tls::write_acme_json_file(r.path, files_[r.path]);
  if (error.empty()) {
    if (storage_errors_.erase(r.path)) core::log_info("acme: ", r.path, " written again");
    return error;
  }
  storage_errors_[r.path] = error;
  storage_retry_at_ = Clock::now() + options_.backoff_base;
  return error;
}

void AcmeManager::retry_failed_saves() {
  if (storage_errors_.empty() || Clock::now() < storage_retry_at_) return;
  std::set<std::string> paths;
  for (const auto& [path, error] : storage_errors_) paths.insert(path);
  for (auto& [name, r] : resolvers_)
    if (paths.erase(r->path)) save(*r);  // one resolver writes the whole file
}

void AcmeManager::set_on_certificate(std::function<void(const std::vector<std::string>&)> callback) {
  on_certificate_ = std::move(callback);
}

void AcmeManager::start() {
  if (started_ || resolvers_.empty()) return;
  started_ = true;
  if (std::string t = token(); !t.empty()) {
    std::string base = kCloudflareDefaultBase;
    if (auto it = env_.find("CF_API_BASE_URL"); it != env_.end() && !it->second.empty()) base = it->second;
    std::string error;
    auto timeout = env_.find("CF_HTTP_TIMEOUT");
    auto options = CloudflareClient::options_from_env(timeout == env_.end() ? "" : timeout->second, &error);
    if (!error.empty()) core::log_warn("acme: ", error);
    cloudflare_ = std::make_unique<CloudflareClient>(control_.get_executor(), base, t, options);
  }
  tasks_.spawn(run(), "background task");
}

void AcmeManager::stop() {
  stopped_ = true;
  tasks_.cancel();
  wake_timer_.cancel();
}

void AcmeManager::wake() {
  dirty_ = true;
  if (!working_) wake_timer_.cancel();
}

void AcmeManager::update_demands(std::vector<CertDemand> demands) {
  for (auto& [key, st] : demands_) st.wanted = false;
  for (auto& d : demands) {
    auto& st = demands_[demand_key(d.resolver, d.names)];
    st.resolver = d.resolver;
    st.names = d.names;
    st.router = d.router;
    st.wanted = true;
  }
  std::erase_if(demands_, [](const auto& kv) {
    return !kv.second.wanted && !kv.second.renewal && !kv.second.in_progress;
  });
  if (started_) wake();
}

Clock::time_point AcmeManager::next_due() const {
  Clock::time_point due = next_renewal_check_;
  if (!storage_errors_.empty()) due = std::min(due, storage_retry_at_);
  for (const auto& [key, d] : demands_)
    if ((d.wanted || d.renewal) && d.failures > 0) due = std::min(due, d.next_attempt);
  return due;
}

awaitable<void> AcmeManager::run() {
  auto alive = alive_;
  co_await sweep_stored_zones();
  while (*alive && !stopped_) {
    dirty_ = false;
    working_ = true;
    co_await work_once();
    if (!*alive) co_return;
    working_ = false;
    if (stopped_) co_return;
    if (dirty_) continue;
    wake_timer_.expires_at(next_due());
    co_await wake_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

awaitable<void> AcmeManager::sweep_stored_zones() {
  if (!cloudflare_) co_return;
  auto alive = alive_;
  std::set<std::string> seen;  // "example.com" guesses, one zone lookup each
  std::vector<std::string> names;
  for (const auto& [name, r] : resolvers_)
    for (const auto& c : files_[r->path][name].certificates) names.push_back(c.main);
  for (const auto& n : names) {
    auto candidates = zone_candidates(n);
    if (candidates.empty() || !seen.insert(candidates.back()).second) continue;
    auto zone = co_await cloudflare_->find_zone(n);
    if (!*alive || stopped_) co_return;
    if (zone.ok()) co_await CloudflareSolver::sweep_zone(*cloudflare_, zone.value.id, cleaned_zones_);
    if (!*alive || stopped_) co_return;
  }
}

awaitable<void> AcmeManager::work_once() {
  auto alive = alive_;
  retry_failed_saves();
  auto now = Clock::now();
  if (now >= next_renewal_check_) {
    Clock::duration interval = options_.check_interval;
    for (const auto& [name, r] : resolvers_) interval = std::min<Clock::duration>(interval, r->renew.interval);
    next_renewal_check_ = now + interval;
    for (const auto& [name, r] : resolvers_)
      for (const auto& c : files_[r->path][name].certificates) {
        auto limit = std::chrono::system_clock::now() +
                     (options_.renew_before ? std::chrono::minutes(*options_.renew_before) : r->renew.before);
        auto not_after = leaf_not_after(c.certificate_pem);
        if (!not_after || *not_after > limit) continue;
        auto names = cert_names(c);
        auto& st = demands_[demand_key(name, names)];
        st.resolver = name;
        st.names = names;
        if (!st.renewal) core::log_info("acme: certificate ", join(names), " expires ", tls::iso8601(*not_after), ": renewing");
        st.renewal = true;
      }
  }
  std::vector<std::string> keys;
  for (const auto& [key, d] : demands_) keys.push_back(key);
  for (const auto& key : keys) {
    auto it = demands_.find(key);
    if (it == demands_.end()) continue;
    DemandState& d = it->second;
    if ((!d.wanted && !d.renewal) || d.next_attempt > Clock::now()) continue;
    if (!d.renewal && std::all_of(d.names.begin(), d.names.end(), [this](const std::string& n) { return store_.covers(n); })) {
      d.failures = 0;
      d.last_error.clear();
      continue;
    }
    auto r = resolvers_.find(d.resolver);
    if (r == resolvers_.end()) {
      d.last_error = "certificate resolver \"" + d.resolver + "\" does not exist";
      d.failures = 1;
      d.next_attempt = Clock::time_point::max();
      continue;
    }
    d.in_progress = true;
    co_await order(*r->second, d);
    if (!*alive) co_return;
    d.in_progress = false;
    if (stopped_) co_return;
  }
}

awaitable<bool> AcmeManager::ensure_account(Resolver& r) {
  if (r.registered) co_return true;
  auto alive = alive_;
  auto& data = files_[r.path][r.name];
  std::string error;
  tls::EvpPkeyPtr key;
  if (data.account && !data.account->private_key_der.empty()) {
    key = tls::load_private_key_der(data.account->private_key_der, error);
    if (!key) core::log_warn("acme: stored account key of resolver ", r.name, " unusable (", error, "): new account");
  }
  bool fresh = !key;
  if (fresh) key = tls::generate_key(tls::KeyKind::ec_p256, error);
  if (!key) {
    r.last_error = "account key: " + error;
    co_return false;
  }
  std::string der = private_key_der(key.get());
  std::string email = r.cfg.email.empty() ? cfg_.infra.cert_email : r.cfg.email;
  auto reg = co_await r.client->register_account(tls::share(key.get()), email);
  if (!*alive) co_return false;
  if (!reg.ok()) {
    r.last_error = reg.error;
    co_return false;
  }
  if (fresh || data.account->registration_uri != reg.value) {
    tls::AcmeAccount account;
    account.email = email;
    account.registration_uri = reg.value;
    Json body = Json::object();
    body["status"] = "valid";
    if (!email.empty()) {
      Json contact = Json::array();
      contact.push_back("mailto:" + email);
      body["contact"] = contact;
    }
    account.registration_body = body.dump();
    account.private_key_der = der;
    account.key_type = lego_key_type(r.kind);
    data.account = account;
    if (std::string err = save(r); !err.empty()) core::log_error("acme: ", err);
    core::log_info("acme: resolver ", r.name, ": account ", reg.value);
  }
  r.registered = true;
  co_return true;
}

// The solvers `r` can use now, in lego's order of preference: tls-alpn-01, http-01, dns-01.
std::vector<std::unique_ptr<ChallengeSolver>> AcmeManager::solvers_for(const Resolver& r) {
  std::vector<std::unique_ptr<ChallengeSolver>> out;
  auto executor = control_.get_executor();
  if (r.cfg.tls_challenge && challenges_)
    out.push_back(std::make_unique<TlsAlpn01Solver>(executor, *challenges_, r.cfg.tls_challenge->delay));
  if (r.cfg.http_challenge && challenges_)
    out.push_back(std::make_unique<Http01Solver>(executor, *challenges_, r.cfg.http_challenge->delay));
  if (r.cfg.dns_challenge && cloudflare_)
    out.push_back(std::make_unique<CloudflareSolver>(executor, *cloudflare_, *r.cfg.dns_challenge, cleaned_zones_,
                                                     options_.propagation_poll));
  return out;
}

std::vector<OrderCounts> AcmeManager::order_counts() const {
  std::vector<OrderCounts> out;
  for (const auto& [name, r] : resolvers_) {
    out.push_back(r->orders);
    out.back().resolver = name;
  }
  return out;
}

void AcmeManager::record_failure(DemandState& d, const std::string& error, std::chrono::seconds retry_after) {
  if (auto r = resolvers_.find(d.resolver); r != resolvers_.end()) {
    r->second->orders.failed++;
    r->second->orders.last_failure = std::chrono::system_clock::now();
  }
  d.failures++;
  d.last_error = error;
  auto delay = options_.backoff_base;
  for (int i = 1; i < d.failures && delay < options_.backoff_cap; ++i) delay *= 2;
  delay = std::min(delay, options_.backoff_cap);
  delay = std::max(delay, retry_after);
  d.next_attempt = Clock::now() + delay;
  core::log_error("acme: certificate for ", join(d.names), " (resolver ", d.resolver, ") failed: ", error,
                  "; next attempt in ", delay.count(), " s");
}

awaitable<void> AcmeManager::order(Resolver& r, DemandState& d) {
  auto alive = alive_;
  r.orders.started++;
  if (!r.config_error.empty()) {
    record_failure(d, r.config_error, std::chrono::seconds(0));
    co_return;
  }
  auto solvers = solvers_for(r);
  if (solvers.empty()) {
    record_failure(d, r.cfg.dns_challenge ? "no Cloudflare API token (CF_DNS_API_TOKEN or infra.cf_dns_api_token)"
                                          : "no listener answers HTTP-01 or TLS-ALPN-01 challenges here",
                   std::chrono::seconds(0));
    co_return;
  }
  core::log_info("acme: requesting a certificate for ", join(d.names), " (resolver ", d.resolver, ")");
  if (!co_await ensure_account(r)) {
    if (!*alive) co_return;
    record_failure(d, r.last_error, r.client->last_problem().retry_after);
    co_return;
  }
  std::vector<ChallengeSolver*> order_solvers;
  for (auto& s : solvers) order_solvers.push_back(s.get());
  auto issued = co_await r.client->obtain(d.names, r.kind, std::move(order_solvers));
  if (!*alive) co_return;
  if (!issued.ok()) {
    const AcmeProblem& p = r.client->last_problem();
    if (p.type.find("accountDoesNotExist") != std::string::npos || p.type.find("unauthorized") != std::string::npos)
      r.registered = false;
    r.last_error = issued.error;
    // A CA rate limit without Retry-After: wait at least an hour (Let's Encrypt's windows are
    // hours to a week), never hammer.
    auto wait = p.retry_after;
    if (p.rate_limited() && wait.count() == 0) wait = std::chrono::hours(1);
    record_failure(d, issued.error, wait);
    co_return;
  }
  auto entry = tls::make_cert_entry(issued.value.chain_pem, issued.value.key_pem, "acme", d.resolver);
  if (!entry.entry) {
    record_failure(d, "the CA returned an unusable certificate: " + entry.error, std::chrono::seconds(0));
    co_return;
  }
  auto& data = files_[r.path][d.resolver];
  std::erase_if(data.certificates, [&](const tls::AcmeCertificate& c) { return same_names(cert_names(c), d.names); });
  tls::AcmeCertificate cert;
  cert.main = d.names.front();
  cert.sans.assign(d.names.begin() + 1, d.names.end());
  cert.certificate_pem = issued.value.chain_pem;
  cert.key_pem = issued.value.key_pem;
  data.certificates.push_back(std::move(cert));
  if (std::string err = save(r); !err.empty()) core::log_error("acme: ", err, " (the certificate is served; the write is retried)");
  publish_entries();
  r.orders.succeeded++;
  r.last_error.clear();
  d.failures = 0;
  d.last_error.clear();
  d.renewal = false;
  d.next_attempt = {};
  core::log_info("acme: certificate for ", join(d.names), " obtained, valid until ",
                 tls::iso8601(entry.entry->not_after));
  if (on_certificate_) on_certificate_(d.names);
}

Json AcmeManager::certificates_json() const {
  Json out = Json::array();
  for (const auto& info : store_.list()) {
    Json c = Json::object();
    c["id"] = info.id;
    c["names"] = info.names;
    c["issuer"] = info.issuer;
    c["not_after"] = info.not_after;
    c["source"] = info.source;
    if (!info.resolver.empty()) c["resolver"] = info.resolver;
    c["status"] = "valid";
    out.push_back(std::move(c));
  }
  auto now = Clock::now();
  for (const auto& [key, d] : demands_) {
    bool covered = std::all_of(d.names.begin(), d.names.end(), [this](const std::string& n) { return store_.covers(n); });
    if (covered && !d.renewal && d.last_error.empty()) continue;
    Json c = Json::object();
    c["names"] = d.names;
    c["source"] = "acme";
    c["resolver"] = d.resolver;
    if (!d.router.empty()) c["router"] = d.router;
    c["status"] = d.failures > 0 ? (d.renewal ? "renewal_failed" : "failed") : (d.renewal ? "renewing" : "pending");
    if (!d.last_error.empty()) c["last_error"] = d.last_error;
    if (d.failures > 0 && d.next_attempt != Clock::time_point::max())
      c["retry_in_seconds"] = std::max<long>(0, std::chrono::duration_cast<std::chrono::seconds>(d.next_attempt - now).count());
    out.push_back(std::move(c));
  }
  return out;
}

bool AcmeManager::degraded() const {
  if (!storage_errors_.empty()) return true;
  for (const auto& [name, r] : resolvers_)
    if (!r->config_error.empty() || !r->last_error.empty()) return true;
  for (const auto& [key, d] : demands_)
    if (d.failures > 0 && (d.wanted || d.renewal)) return true;
  return false;
}

Json AcmeManager::health_json() const {
  Json resolvers = Json::array();
  for (const auto& [name, r] : resolvers_) {
    std::size_t pending = 0, failing = 0;
    for (const auto& [key, d] : demands_) {
      if (d.resolver != name || (!d.wanted && !d.renewal)) continue;
      if (d.failures > 0) failing++;
      else if (d.renewal || !std::all_of(d.names.begin(), d.names.end(), [this](const std::string& n) { return store_.covers(n); }))
        pending++;
    }
    std::size_t certificates = 0;
    if (auto f = files_.find(r->path); f != files_.end())
      if (auto it = f->second.find(name); it != f->second.end()) certificates = it->second.certificates.size();
    Json j = Json::object();
    j["name"] = name;
    j["ca_server"] = r->cfg.ca_server;
    j["storage"] = r->path;
    j["account"] = r->registered ? "registered" : "not registered";
    std::string error = !r->config_error.empty() ? r->config_error : r->last_error;
    auto storage_error = storage_errors_.find(r->path);
    bool storage_failing = storage_error != storage_errors_.end();
    j["status"] = !error.empty() || failing > 0 || storage_failing ? "error" : "ok";
    if (!error.empty()) j["last_error"] = error;
    if (storage_failing) j["storage_error"] = storage_error->second;
    j["certificates"] = certificates;
    j["pending"] = pending;
    j["failing"] = failing;
    resolvers.push_back(std::move(j));
  }
  Json out = Json::object();
  out["status"] = degraded() ? "degraded" : "ok";
  out["resolvers"] = std::move(resolvers);
  return out;
}

}  // namespace portier::acme
