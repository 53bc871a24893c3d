#include "acme/acme_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/x509.h>
#include <strings.h>

#include <algorithm>
#include <ctime>

#include "acme/csr.hpp"
#include "acme/json_text.hpp"
#include "acme/jws.hpp"
#include "core/log.hpp"

namespace portier::acme {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Json = nlohmann::json;

constexpr const char* kProblemPrefix = "urn:ietf:params:acme:error:";
constexpr int kNonceAttempts = 5;

}  // namespace

bool AcmeProblem::rate_limited() const {
  return status == 429 || type == std::string(kProblemPrefix) + "rateLimited";
}

std::string describe_problem(const AcmeProblem& p) {
  std::string type = p.type;
  if (type.rfind(kProblemPrefix, 0) == 0) type = type.substr(std::string(kProblemPrefix).size());
  std::string out = "CA error";
  if (!type.empty()) out += " " + type;
  if (p.status) out += " (HTTP " + std::to_string(p.status) + ")";
  if (!p.detail.empty()) out += ": " + p.detail;
  return out;
}

AcmeProblem parse_problem(unsigned status, const std::string& body) {
  AcmeProblem p;
  p.status = status;
  Json j = Json::parse(body, nullptr, false);
  p.type = json_string(j, "type");
  p.detail = json_string(j, "detail");
  if (j.is_object())
    if (auto sub = j.find("subproblems"); sub != j.end() && sub->is_array())
      for (const auto& s : *sub) {
        std::string d = json_string(s, "detail");
        std::string id = s.is_object() && s.contains("identifier") ? json_string(s["identifier"], "value") : "";
        if (!d.empty()) p.detail += (p.detail.empty() ? "" : "; ") + (id.empty() ? d : id + ": " + d);
      }
  if (p.detail.empty() && !j.is_object()) p.detail = body.substr(0, 200);
  return p;
}

OrderInfo parse_order(const Json& order) {
  OrderInfo o;
  o.status = json_string(order, "status");
  o.finalize = json_string(order, "finalize");
  o.certificate = json_string(order, "certificate");
  if (order.is_object())
    if (auto it = order.find("authorizations"); it != order.end() && it->is_array())
      for (const auto& a : *it)
        if (a.is_string()) o.authorizations.push_back(a.get<std::string>());
  return o;
}

AuthorizationInfo parse_authorization(const Json& authz) {
  AuthorizationInfo a;
  a.status = json_string(authz, "status");
  if (!authz.is_object()) return a;
  if (auto id = authz.find("identifier"); id != authz.end()) a.domain = json_string(*id, "value");
  if (auto list = authz.find("challenges"); list != authz.end() && list->is_array())
    for (const auto& c : *list) {
      ChallengeInfo info{json_string(c, "type"), json_string(c, "url"), json_string(c, "token")};
      if (!info.type.empty() && !info.url.empty() && !info.token.empty()) a.challenges.push_back(std::move(info));
    }
  return a;
}

const ChallengeInfo* AuthorizationInfo::challenge(std::string_view type) const {
  const ChallengeInfo* found = nullptr;
  for (const auto& c : challenges)
    if (c.type == type) found = &c;
  return found;
}

AcmeProblem object_problem(const Json& object) {
  AcmeProblem p;
  if (!object.is_object()) return p;
  if (auto e = object.find("error"); e != object.end()) p = parse_problem(0, e->dump());
  if (auto list = object.find("challenges"); list != object.end() && list->is_array())
    for (const auto& c : *list)
      if (c.is_object())
        if (auto e = c.find("error"); e != c.end()) p = parse_problem(0, e->dump());
  return p;
}

std::chrono::seconds parse_retry_after(const std::string& value) {
  if (value.empty()) return std::chrono::seconds(0);
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) && value.size() < 10)
    return std::chrono::seconds(std::stol(value));
  std::tm tm{};
  if (!strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::chrono::seconds(0);
  long delta = static_cast<long>(timegm(&tm) - std::time(nullptr));
  return std::chrono::seconds(std::max(0L, delta));
}

namespace {

// One link-value's parameters after "<target>": true when one is rel with "alternate" among
// its space-separated relation types. `at` ends on the ',' that closes the link-value.
bool link_is_alternate(std::string_view v, std::size_t& at) {
  bool alternate = false;
  while (at < v.size() && v[at] != ',') {
    if (v[at] != ';') {
      ++at;
      continue;
    }
    std::size_t eq = v.find_first_of("=;,", ++at);
    std::string name(v.substr(at, eq == std::string_view::npos ? v.size() - at : eq - at));
    std::erase_if(name, [](char c) { return c == ' ' || c == '\t'; });
    at = eq;
    if (eq == std::string_view::npos || v[eq] != '=') {
      if (eq == std::string_view::npos) at = v.size();
      continue;
    }
    ++at;
    while (at < v.size() && (v[at] == ' ' || v[at] == '\t')) ++at;
    std::string value;
    if (at < v.size() && v[at] == '"') {
      for (++at; at < v.size() && v[at] != '"'; ++at) {
        if (v[at] == '\\' && at + 1 < v.size()) ++at;
        value += v[at];
      }
      if (at < v.size()) ++at;
    } else {
      while (at < v.size() && v[at] != ';' && v[at] != ',') value += v[at++];
    }
    if (!strcasecmp(name.c_str(), "rel")) {
      for (std::size_t b = 0; b < value.size();) {
        std::size_t e = value.find(' ', b);
        if (e == std::string::npos) e = value.size();
        if (!strcasecmp(value.substr(b, e - b).c_str(), "alternate")) alternate = true;
        b = e + 1;
      }
    }
  }
  return alternate;
}

}  // namespace

std::vector<std::string> alternate_links(const std::vector<std::string>& link_values) {
  std::vector<std::string> out;
  for (std::string_view v : link_values) {
    std::size_t at = 0;
    while (at < v.size()) {
      std::size_t open = v.find('<', at);
      if (open == std::string_view::npos) break;
      std::size_t close = v.find('>', open);
      if (close == std::string_view::npos) break;
      std::string target(v.substr(open + 1, close - open - 1));
      at = close + 1;
      if (link_is_alternate(v, at) && !target.empty()) out.push_back(std::move(target));
      if (at < v.size()) ++at;  // the ','
    }
  }
  return out;
}

bool chain_has_top_issuer(const std::string& chain_pem, const std::string& issuer_cn) {
  std::string error;
  auto chain = tls::load_certificates_pem(chain_pem, error);
  if (chain.empty()) return false;
  X509_NAME* issuer = X509_get_issuer_name(chain.back().get());
  char cn[256] = {};
  int n = X509_NAME_get_text_by_NID(issuer, NID_commonName, cn, sizeof cn);
  return n >= 0 && std::string_view(cn, static_cast<std::size_t>(n)) == issuer_cn;
}

bool split_url(const std::string& url, std::string& origin, std::string& target) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  std::string s = url.substr(0, scheme);
  if (s != "http" && s != "https") return false;
  std::size_t slash = url.find('/', scheme + 3);
  origin = url.substr(0, slash);
  target = slash == std::string::npos ? "/" : url.substr(slash);
  return origin.size() > scheme + 3;
}

AcmeClient::AcmeClient(asio::any_io_executor executor, AcmeClientOptions options)
    : executor_(executor), options_(std::move(options)) {}

AcmeClient::~AcmeClient() = default;

core::HttpClient& AcmeClient::client_for(const std::string& origin) {
  auto& slot = clients_[origin];
  if (!slot) slot = std::make_unique<core::HttpClient>(executor_, origin, options_.http);
  return *slot;
}

std::string AcmeClient::fail(std::string why) {
  if (last_problem_.detail.empty() && last_problem_.type.empty()) last_problem_.detail = why;
  return why;
}

awaitable<void> AcmeClient::sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(executor_, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

awaitable<Result<AcmeClient::Response>> AcmeClient::fetch(std::string method, std::string url, std::string body,
                                                         std::string content_type, std::string accept) {
  std::string origin, target;
  if (!split_url(url, origin, target)) co_return Result<Response>::failure("not an http(s) URL: " + url);
  core::HttpRequest req;
  req.method = method;
  req.target = target;
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  if (!accept.empty()) req.headers.emplace_back("Accept", accept);
  req.body = std::move(body);
  core::HttpResult res = co_await client_for(origin).request(std::move(req));
  if (!res.ok()) co_return Result<Response>::failure(method + " " + url + ": " + res.error);
  Response r;
  r.status = res.response.status;
  r.location = res.response.header("location");
  r.retry_after = res.response.header("retry-after");
  for (const auto& [name, value] : res.response.headers)
    if (name == "link") r.links.push_back(value);
  if (std::string nonce = res.response.header("replay-nonce"); !nonce.empty()) nonce_ = nonce;
  r.body = std::move(res.response.body);
  r.json = Json::parse(r.body, nullptr, false);
  co_return Result<Response>::success(std::move(r));
}

awaitable<std::string> AcmeClient::load_directory() {
  if (directory_.is_object()) co_return std::string();
  auto r = co_await fetch("GET", options_.directory_url, "", "");
  if (!r.ok()) co_return fail("ACME directory " + r.error);
  if (r.value.status != 200 || !r.value.json.is_object() || json_string(r.value.json, "newOrder").empty())
    co_return fail("ACME directory " + options_.directory_url + ": HTTP " + std::to_string(r.value.status) +
                   ", not an ACME directory");
  directory_ = r.value.json;
  co_return std::string();
}

awaitable<std::string> AcmeClient::refresh_nonce() {
  nonce_.clear();
  auto r = co_await fetch("GET", json_string(directory_, "newNonce"), "", "");
  if (!r.ok()) co_return fail("newNonce: " + r.error);
  if (nonce_.empty()) co_return fail("newNonce: no Replay-Nonce header (HTTP " + std::to_string(r.value.status) + ")");
  co_return std::string();
}

awaitable<Result<AcmeClient::Response>> AcmeClient::post(std::string url, std::string payload, bool use_jwk,
                                                        std::string accept) {
  for (int attempt = 1;; ++attempt) {
    if (nonce_.empty())
      if (std::string err = co_await refresh_nonce(); !err.empty()) co_return Result<Response>::failure(err);
    Json header = {{"nonce", nonce_}, {"url", url}};
    nonce_.clear();
    if (use_jwk) header["jwk"] = public_jwk(key_.get());
    else header["kid"] = kid_;
    std::string error;
    std::string body = jws_encode(key_.get(), header, payload, error);
    if (body.empty()) co_return Result<Response>::failure(fail(error));
    auto r = co_await fetch("POST", url, std::move(body), "application/jose+json", accept);
    if (!r.ok()) co_return Result<Response>::failure(fail(r.error));
    if (r.value.status < 400) co_return r;
    AcmeProblem problem = parse_problem(r.value.status, r.value.body);
    problem.retry_after = parse_retry_after(r.value.retry_after);
    if (problem.type == std::string(kProblemPrefix) + "badNonce" && attempt < kNonceAttempts) {
      core::log_debug("acme: badNonce from ", url, ", retrying");
      continue;
    }
    last_problem_ = problem;
    co_return Result<Response>::failure(describe_problem(problem));
  }
}

awaitable<Result<std::string>> AcmeClient::register_account(tls::EvpPkeyPtr key, std::string email) {
  last_problem_ = {};
  if (std::string err = co_await load_directory(); !err.empty()) co_return Result<std::string>::failure(err);
  key_ = std::move(key);
  Json jwk = public_jwk(key_.get());
  if (jwk.is_null()) co_return Result<std::string>::failure(fail("unsupported account key type"));
  thumbprint_ = jwk_thumbprint(jwk);
  Json payload = Json::object();
  payload["termsOfServiceAgreed"] = true;
  if (!email.empty()) {
    Json contact = Json::array();
    contact.push_back("mailto:" + email);
    payload["contact"] = contact;
  }
  std::string new_account = json_string(directory_, "newAccount");
  if (options_.eab) {
    std::string error;
    Json binding = eab_jws(jwk, options_.eab->kid, options_.eab->hmac_key, new_account, error);
    if (binding.is_null()) co_return Result<std::string>::failure(fail("external account binding: " + error));
    payload["externalAccountBinding"] = std::move(binding);
  }
  auto r = co_await post(new_account, payload.dump(), true);
  if (!r.ok()) co_return Result<std::string>::failure("account registration: " + r.error);
  if (r.value.location.empty())
    co_return Result<std::string>::failure(fail("account registration: the CA sent no account URL"));
  kid_ = r.value.location;
  co_return Result<std::string>::success(kid_);
}

awaitable<Result<Json>> AcmeClient::poll(std::string url, std::string until, std::string what) {
  auto deadline = std::chrono::steady_clock::now() + options_.order_timeout;
  for (;;) {
    auto r = co_await post(url, "");
    if (!r.ok()) co_return Result<Json>::failure(what + ": " + r.error);
    std::string status = json_string(r.value.json, "status");
    if (status == until || status == "valid") co_return Result<Json>::success(r.value.json);
    if (status == "invalid" || status == "revoked" || status == "deactivated" || status == "expired") {
      AcmeProblem p = object_problem(r.value.json);
      last_problem_ = p;
      co_return Result<Json>::failure(fail(what + " is " + status + (p.detail.empty() && p.type.empty() ? "" : ": " + describe_problem(p))));
    }
    if (std::chrono::steady_clock::now() > deadline)
      co_return Result<Json>::failure(fail(what + " still " + status + " after the order timeout"));
    std::chrono::milliseconds wait = options_.poll_interval;
    if (auto ra = parse_retry_after(r.value.retry_after); ra.count() > 0)
      wait = std::min<std::chrono::milliseconds>(ra, std::chrono::seconds(30));
    co_await sleep(wait);
  }
}

awaitable<std::string> AcmeClient::solve_authorizations(const std::vector<std::string>& authz_urls,
                                                        const std::vector<ChallengeSolver*>& solvers) {
  std::map<ChallengeSolver*, std::vector<ChallengeSolver::Record>> records;
  std::vector<std::pair<std::string, std::string>> pending;  // authz url, challenge url
  for (const auto& url : authz_urls) {
    auto r = co_await post(url, "");
    if (!r.ok()) co_return "authorization " + r.error;
    AuthorizationInfo authz = parse_authorization(r.value.json);
    if (authz.status == "valid") continue;
    if (authz.status != "pending") co_return fail("authorization for " + authz.domain + " is " + authz.status);
    ChallengeSolver* solver = nullptr;
    const ChallengeInfo* challenge = nullptr;
    for (ChallengeSolver* candidate : solvers) {
      challenge = authz.challenge(candidate->type());
      if (challenge) {
        solver = candidate;
        break;
      }
    }
    if (!challenge) {
      std::string offered;
      for (const auto& c : authz.challenges) offered += (offered.empty() ? "" : ", ") + c.type;
      co_return fail("the CA offers no challenge portier is configured for, for " + authz.domain +
                     " (offered: " + (offered.empty() ? "none" : offered) + ")");
    }
    records[solver].push_back({authz.domain, challenge->token, challenge->token + "." + thumbprint_});
    pending.emplace_back(url, challenge->url);
  }
  if (records.empty()) co_return std::string();
  std::string error;
  std::vector<ChallengeSolver*> presented;
  for (auto& [solver, list] : records) {
    presented.push_back(solver);
    error = co_await solver->present(std::move(list));
    if (!error.empty()) break;
  }
  if (error.empty()) {
    for (const auto& [authz, challenge] : pending) {
      auto r = co_await post(challenge, "{}");
      if (!r.ok()) {
        error = "challenge " + r.error;
        break;
      }
    }
  }
  if (error.empty()) {
    for (const auto& [authz, challenge] : pending) {
      auto r = co_await poll(authz, "valid", "authorization");
      if (!r.ok()) {
        error = r.error;
        break;
      }
    }
  }
  for (ChallengeSolver* solver : presented) co_await solver->cleanup();
  co_return error;
}

// The chain at `cert_url`, or with preferredChain the first alternate (RFC 8555 §7.4.2) whose
// top issuer matches when the default one does not (lego's order).
awaitable<Result<std::string>> AcmeClient::download_chain(std::string cert_url) {
  constexpr const char* kPem = "application/pem-certificate-chain";
  auto chain = co_await post(cert_url, "", false, kPem);
  if (!chain.ok()) co_return Result<std::string>::failure("certificate download: " + chain.error);
  const std::string& preferred = options_.preferred_chain;
  if (preferred.empty() || chain_has_top_issuer(chain.value.body, preferred))
    co_return Result<std::string>::success(std::move(chain.value.body));
  for (const auto& url : alternate_links(chain.value.links)) {
    auto alt = co_await post(url, "", false, kPem);
    if (!alt.ok()) co_return Result<std::string>::failure("alternate chain download: " + alt.error);
    if (chain_has_top_issuer(alt.value.body, preferred)) {
      core::log_info("acme: using the alternate chain whose top issuer is ", preferred);
      co_return Result<std::string>::success(std::move(alt.value.body));
    }
  }
  core::log_warn("acme: no chain has the preferred top issuer \"", preferred, "\"; using the default chain");
  co_return Result<std::string>::success(std::move(chain.value.body));
}

awaitable<Result<IssuedCertificate>> AcmeClient::obtain(std::vector<std::string> names, tls::KeyKind kind,
                                                        std::vector<ChallengeSolver*> solvers) {
  using R = Result<IssuedCertificate>;
  last_problem_ = {};
  if (kid_.empty()) co_return R::failure(fail("no ACME account"));
  Json identifiers = Json::array();
  for (const auto& n : names) {
    Json id = Json::object();
    id["type"] = "dns";
    id["value"] = n;
    identifiers.push_back(std::move(id));
  }
  Json order_payload = {{"identifiers", identifiers}};
  auto order = co_await post(json_string(directory_, "newOrder"), order_payload.dump());
  if (!order.ok()) co_return R::failure("new order: " + order.error);
  std::string order_url = order.value.location;
  if (order_url.empty()) co_return R::failure(fail("new order: the CA sent no order URL"));
  OrderInfo info = parse_order(order.value.json);

  if (std::string err = co_await solve_authorizations(info.authorizations, solvers); !err.empty())
    co_return R::failure(err);
  auto ready = co_await poll(order_url, "ready", "order");
  if (!ready.ok()) co_return R::failure(ready.error);

  std::string error;
  tls::EvpPkeyPtr cert_key = tls::generate_key(kind, error);
  if (!cert_key) co_return R::failure(fail("certificate key: " + error));
  std::string csr = make_csr_der(cert_key.get(), names, error);
  if (csr.empty()) co_return R::failure(fail("CSR: " + error));
  Json finalize_payload = Json::object();
  finalize_payload["csr"] = base64url(csr);
  auto fin = co_await post(info.finalize, finalize_payload.dump());
  if (!fin.ok()) co_return R::failure("finalize: " + fin.error);
  auto done = co_await poll(order_url, "valid", "order");
  if (!done.ok()) co_return R::failure(done.error);
  std::string cert_url = parse_order(done.value).certificate;
  if (cert_url.empty()) co_return R::failure(fail("the valid order has no certificate URL"));
  auto chain = co_await download_chain(cert_url);
  if (!chain.ok()) co_return R::failure(chain.error);
  IssuedCertificate issued;
  issued.chain_pem = std::move(chain.value);
  issued.key_pem = tls::to_pem(cert_key.get());
  co_return R::success(std::move(issued));
}

}  // namespace portier::acme
