#pragma once
// RFC 8555 client: directory, nonces (badNonce retried), account registration and reuse (JWS
// with "jwk" for newAccount, "kid" afterwards; external account binding), orders for one or
// more names (wildcards included), authorizations by dns-01, http-01 or tls-alpn-01, finalize
// with a CSR, polling with Retry-After, and the chain download (an alternate chain for
// preferredChain). ACME problem documents (urn:ietf:params:acme:error:*) become error texts
// and last_problem().
//
// Thread: control thread; coroutines on `executor`. One order at a time per client.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.hpp"
#include "core/http_client.hpp"
#include "tls/openssl_ptr.hpp"
#include "tls/self_signed.hpp"

namespace portier::acme {

// One way of proving control of names (RFC 8555 §8): "dns-01" (Cloudflare), "http-01" and
// "tls-alpn-01" (RFC 8737, answered by portier's own listeners). An order asks each solver to
// present the challenges it was given, tells the CA, waits for the outcome, then cleans up.
class ChallengeSolver {
 public:
  struct Record {
    std::string domain;             // identifier, without "*." ("app.example.com")
    std::string token;
    std::string key_authorization;  // token "." account thumbprint (RFC 8555 §8.1)
  };
  virtual ~ChallengeSolver() = default;
  virtual std::string_view type() const = 0;
  // Makes every record answerable (and waits until the CA can see it). "" or why not.
  virtual boost::asio::awaitable<std::string> present(std::vector<Record> records) = 0;
  // Removes whatever present() created, whatever the outcome. Always called after present().
  virtual boost::asio::awaitable<void> cleanup() = 0;
};

struct AcmeProblem {
  std::string type;     // "urn:ietf:params:acme:error:rateLimited", "" for transport errors
  std::string detail;
  unsigned status = 0;  // HTTP status, 0 for transport errors
  std::chrono::seconds retry_after{0};
  bool rate_limited() const;
};

// "CA error rateLimited (HTTP 429): too many certificates" from a problem document.
std::string describe_problem(const AcmeProblem& p);
// Decodes an application/problem+json body (any JSON object with type/detail).
AcmeProblem parse_problem(unsigned status, const std::string& body);
// Retry-After as seconds or HTTP-date; 0 when absent or unparsable.
std::chrono::seconds parse_retry_after(const std::string& value);

// The fields portier reads from an order object (RFC 8555 7.1.3); any JSON value is accepted,
// what is missing or of another type is left empty.
struct OrderInfo {
  std::string status;
  std::vector<std::string> authorizations;  // the string members only
  std::string finalize;
  std::string certificate;
};
OrderInfo parse_order(const nlohmann::json& order);

// An authorization object (7.1.4): its status, identifier and the challenges it offers (those
// with string type, url and token).
struct ChallengeInfo {
  std::string type;
  std::string url;
  std::string token;
};
struct AuthorizationInfo {
  std::string status;
  std::string domain;
  std::vector<ChallengeInfo> challenges;
  // The last challenge of `type`; null when none is offered.
  const ChallengeInfo* challenge(std::string_view type) const;
};
AuthorizationInfo parse_authorization(const nlohmann::json& authz);

// The targets of every `rel="alternate"` link in Link header values (RFC 8288; RFC 8555 §7.4.2
// alternate chains). Anything malformed is skipped.
std::vector<std::string> alternate_links(const std::vector<std::string>& link_values);

// lego's preferredChain test: the CN of the issuer of the chain's last certificate (the top
// issuer) is `issuer_cn`. False when the PEM holds no certificate.
bool chain_has_top_issuer(const std::string& chain_pem, const std::string& issuer_cn);

// Why an order or authorization went invalid: a challenge's "error" (the last one) or else
// the object's own "error"; an empty problem when neither is there.
AcmeProblem object_problem(const nlohmann::json& object);

// RFC 8555 §7.3.4 external account binding: the CA's key id and its MAC key (raw bytes).
struct AccountBinding {
  std::string kid;
  std::string hmac_key;
};

struct AcmeClientOptions {
  std::string directory_url;
  std::optional<AccountBinding> eab;
  std::string preferred_chain;  // top issuer CN of the chain to prefer; "" = the CA's default
  core::HttpClientOptions http;  // extra_ca_files for a private CA
  std::chrono::milliseconds poll_interval{1000};  // when the CA gives no Retry-After
  std::chrono::milliseconds order_timeout{std::chrono::minutes(5)};
};

struct IssuedCertificate {
  std::string chain_pem;  // leaf first
  std::string key_pem;
};

class AcmeClient {
 public:
  AcmeClient(boost::asio::any_io_executor executor, AcmeClientOptions options);
  ~AcmeClient();

  // Registers `key` (or finds its existing account: the CA answers 200 for a known key) with
  // `email` as contact; agrees to the terms. Returns the account URL (kid).
  boost::asio::awaitable<Result<std::string>> register_account(tls::EvpPkeyPtr key, std::string email);

  // Orders one certificate for `names` (first = main), solving every pending authorization
  // with the first of `solvers` whose type the CA offers for it, and returns the chain (the
  // preferred one when configured) with a fresh key of `kind`.
  // Precondition: register_account succeeded; `solvers` not empty.
  boost::asio::awaitable<Result<IssuedCertificate>> obtain(std::vector<std::string> names, tls::KeyKind kind,
                                                           std::vector<ChallengeSolver*> solvers);

  const AcmeProblem& last_problem() const { return last_problem_; }
  const std::string& account_url() const { return kid_; }
  const std::string& thumbprint() const { return thumbprint_; }

 private:
  struct Response {
    unsigned status = 0;
    std::string location;
    std::string retry_after;
    std::vector<std::string> links;  // Link header values
    std::string body;
    nlohmann::json json;
  };
  boost::asio::awaitable<Result<Response>> fetch(std::string method, std::string url, std::string body,
                                                 std::string content_type, std::string accept = {});
  boost::asio::awaitable<std::string> load_directory();
  boost::asio::awaitable<std::string> refresh_nonce();
  // Signed POST; `payload` nullptr-like "" = POST-as-GET. Retries badNonce.
  boost::asio::awaitable<Result<Response>> post(std::string url, std::string payload, bool use_jwk = false,
                                                std::string accept = {});
  boost::asio::awaitable<std::string> solve_authorizations(const std::vector<std::string>& authz_urls,
                                                           const std::vector<ChallengeSolver*>& solvers);
  boost::asio::awaitable<Result<std::string>> download_chain(std::string cert_url);
  boost::asio::awaitable<Result<nlohmann::json>> poll(std::string url, std::string until, std::string what);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  core::HttpClient& client_for(const std::string& origin);
  std::string fail(std::string why);

  boost::asio::any_io_executor executor_;
  AcmeClientOptions options_;
  std::map<std::string, std::unique_ptr<core::HttpClient>> clients_;  // by origin
  nlohmann::json directory_;
  std::string nonce_;
  tls::EvpPkeyPtr key_;
  std::string kid_;
  std::string thumbprint_;
  AcmeProblem last_problem_;
};

// "https://host:port/path?q" -> {"https://host:port", "/path?q"}. False when not http(s).
bool split_url(const std::string& url, std::string& origin, std::string& target);

}  // namespace portier::acme
