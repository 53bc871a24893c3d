#pragma once
// Cloudflare v4 DNS API with an API token (Authorization: Bearer), the part DNS-01 needs:
// zone lookup, TXT create/list/delete. Records portier creates carry kRecordComment so that a
// later run can delete what a crash left behind.
//
// Thread: control thread; coroutines on the executor given. The token is never logged and
// never appears in an error text.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/result.hpp"
#include "core/http_client.hpp"

namespace portier::acme {

inline constexpr const char* kCloudflareDefaultBase = "https://api.cloudflare.com/client/v4";
inline constexpr const char* kRecordComment = "portier acme dns-01 challenge";

struct CfZone {
  std::string id;
  std::string name;
};

struct CfRecord {
  std::string id;
  std::string name;
  std::string content;
  std::string comment;
};

// A decoded v4 envelope {"success","errors":[{code,message}],"result"}.
struct CfResponse {
  bool success = false;
  bool retryable = false;  // 429, 5xx, transport errors
  std::chrono::seconds retry_after{0};  // the answer's Retry-After (429, 503), 0 when none
  nlohmann::json result;
  std::string error;  // "" when success; else a one-line explanation
};

// Decodes a response. Non-2xx or success=false gives a clear error naming the likely cause
// (bad token, missing permission, rate limit, server error) and Cloudflare's own messages.
CfResponse parse_cf_response(unsigned status, std::string_view body);

// The `result` of a successful answer, read whatever its shape (missing or mistyped fields are
// empty): the first zone of GET /zones?name= (nullopt when there is none with an id); one
// record (POST /dns_records); the "_acme-challenge." records of a record list.
std::optional<CfZone> parse_zone_list(const nlohmann::json& result, const std::string& fallback_name);
CfRecord parse_record(const nlohmann::json& record);
std::vector<CfRecord> parse_challenge_records(const nlohmann::json& result);

// "x.y.example.com" -> {"x.y.example.com", "y.example.com", "example.com"} (no TLD alone).
std::vector<std::string> zone_candidates(std::string_view fqdn);

struct CloudflareOptions {
  int attempts = 3;  // for retryable failures
  std::chrono::milliseconds retry_delay{1000};  // doubled after each attempt
  // A Retry-After up to this long is waited for before the next attempt (when longer than
  // retry_delay); a longer one ends the call, and the order's own backoff takes over.
  std::chrono::seconds max_retry_after{60};
  core::HttpClientOptions http;
};

class CloudflareClient {
 public:
  CloudflareClient(boost::asio::any_io_executor executor, std::string base_url, std::string token,
                   CloudflareOptions options = {});

  // Options from lego's environment variable CF_HTTP_TIMEOUT (seconds, the whole exchange of
  // one API request; default 30 s as lego). "" or what is wrong with it in *error.
  static CloudflareOptions options_from_env(const std::string& http_timeout, std::string* error);

  // The zone holding `fqdn` (a trailing dot and a "*." prefix are ignored), walking up.
  boost::asio::awaitable<Result<CfZone>> find_zone(std::string fqdn);
  // Creates TXT `name` = `value` (ttl 120) tagged with kRecordComment.
  boost::asio::awaitable<Result<CfRecord>> create_txt(std::string zone_id, std::string name, std::string value);
  // TXT records of the zone whose name starts with "_acme-challenge." (first 500).
  boost::asio::awaitable<Result<std::vector<CfRecord>>> list_challenge_txt(std::string zone_id);
  boost::asio::awaitable<Result<bool>> delete_record(std::string zone_id, std::string record_id);

 private:
  boost::asio::awaitable<CfResponse> call(std::string method, std::string target, std::string body);

  boost::asio::any_io_executor executor_;
  std::string token_;
  CloudflareOptions options_;
  core::HttpClient http_;
};

}  // namespace portier::acme
