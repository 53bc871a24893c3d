#include "acme/acme_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <ctime>

#include "acme/csr.hpp"
#include "acme/jws.hpp"
#include "core/log.hpp"

namespace portier::acme {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Json = nlohmann::json;

constexpr const char* kProblemPrefix = "urn:ietf:params:acme:error:";
constexpr int kNonceAttempts = 5;

std::string json_string(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

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
    for (const auto& c : *list)
      if (json_string(c, "type") == "dns-01") {
        a.challenge_url = json_string(c, "url");
        a.token = json_string(c, "token");
      }
  return a;
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
  auto r = co_await post(json_string(directory_, "newAccount"), payload.dump(), true);
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
                                                        Dns01Solver& solver) {
  std::vector<Dns01Solver::Record> records;
  std::vector<std::pair<std::string, std::string>> pending;  // authz url, challenge url
  for (const auto& url : authz_urls) {
    auto r = co_await post(url, "");
    if (!r.ok()) co_return "authorization " + r.error;
    AuthorizationInfo authz = parse_authorization(r.value.json);
    if (authz.status == "valid") continue;
    if (authz.status != "pending") co_return fail("authorization for " + authz.domain + " is " + authz.status);
    if (authz.challenge_url.empty() || authz.token.empty())
      co_return fail("the CA offers no dns-01 challenge for " + authz.domain);
    Dns01Solver::Record record;
    record.domain = authz.domain;
    record.fqdn = "_acme-challenge." + authz.domain;
    record.value = dns01_txt_value(authz.token, thumbprint_);
    records.push_back(std::move(record));
    pending.emplace_back(url, authz.challenge_url);
  }
  if (records.empty()) co_return std::string();
  std::string error = co_await solver.present(records);
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
  co_await solver.cleanup();
  co_return error;
}

awaitable<Result<IssuedCertificate>> AcmeClient::obtain(std::vector<std::string> names, tls::KeyKind kind,
                                                        Dns01Solver& solver) {
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

  if (std::string err = co_await solve_authorizations(info.authorizations, solver); !err.empty())
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
  auto chain = co_await post(cert_url, "", false, "application/pem-certificate-chain");
  if (!chain.ok()) co_return R::failure("certificate download: " + chain.error);
  IssuedCertificate issued;
  issued.chain_pem = std::move(chain.value.body);
  issued.key_pem = tls::to_pem(cert_key.get());
  co_return R::success(std::move(issued));
}

}  // namespace portier::acme
