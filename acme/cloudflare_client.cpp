#include "acme/cloudflare_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cstdlib>

#include "acme/acme_client.hpp"
#include "acme/json_text.hpp"

namespace portier::acme {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using Json = nlohmann::json;

std::string cf_messages(const Json& j) {
  std::string out;
  auto it = j.find("errors");
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    if (!out.empty()) out += "; ";
    if (auto code = e.find("code"); code != e.end() && code->is_number_integer())
      out += std::to_string(code->get<long>()) + " ";
    if (auto msg = e.find("message"); msg != e.end() && msg->is_string()) out += msg->get<std::string>();
  }
  return out;
}

std::string strip_name(std::string_view fqdn) {
  if (fqdn.substr(0, 2) == "*.") fqdn.remove_prefix(2);
  while (!fqdn.empty() && fqdn.back() == '.') fqdn.remove_suffix(1);
  return std::string(fqdn);
}

}  // namespace

CfResponse parse_cf_response(unsigned status, std::string_view body) {
  CfResponse r;
  Json j = Json::parse(body, nullptr, false);
  std::string messages = j.is_object() ? cf_messages(j) : std::string();
  auto with = [&](std::string what) {
    return messages.empty() ? what : what + " (" + messages + ")";
  };
  r.retryable = status == 429 || status >= 500;
  if (status == 401 || status == 403) {
    r.error = with("Cloudflare API: HTTP " + std::to_string(status) +
                   ": token rejected or missing permission (needs Zone:Read and DNS:Edit)");
    return r;
  }
  if (status == 429) {
    r.error = with("Cloudflare API: rate limited (HTTP 429)");
    return r;
  }
  if (status >= 500) {
    r.error = with("Cloudflare API: server error HTTP " + std::to_string(status));
    return r;
  }
  if (!j.is_object()) {
    r.error = "Cloudflare API: HTTP " + std::to_string(status) + ": response is not JSON";
    return r;
  }
  auto success = j.find("success");
  if (status / 100 != 2 || success == j.end() || !success->is_boolean() || !success->get<bool>()) {
    r.error = with("Cloudflare API: HTTP " + std::to_string(status) + ": request failed");
    return r;
  }
  r.success = true;
  if (auto it = j.find("result"); it != j.end()) r.result = *it;
  return r;
}

CfRecord parse_record(const Json& j) {
  CfRecord r;
  r.id = json_string(j, "id");
  r.name = json_string(j, "name");
  r.content = json_string(j, "content");
  r.comment = json_string(j, "comment");
  return r;
}

std::optional<CfZone> parse_zone_list(const Json& result, const std::string& fallback_name) {
  if (!result.is_array() || result.empty()) return std::nullopt;
  CfZone zone;
  zone.id = json_string(result[0], "id");
  zone.name = json_string(result[0], "name");
  if (zone.name.empty()) zone.name = fallback_name;
  if (zone.id.empty()) return std::nullopt;
  return zone;
}

std::vector<CfRecord> parse_challenge_records(const Json& result) {
  std::vector<CfRecord> out;
  if (!result.is_array()) return out;
  for (const auto& j : result) {
    CfRecord rec = parse_record(j);
    if (rec.name.rfind("_acme-challenge.", 0) == 0) out.push_back(std::move(rec));
  }
  return out;
}

std::vector<std::string> zone_candidates(std::string_view fqdn) {
  std::string name = strip_name(fqdn);
  std::vector<std::string> out;
  std::string_view rest = name;
  while (rest.find('.') != std::string_view::npos) {
    out.emplace_back(rest);
    rest.remove_prefix(rest.find('.') + 1);
  }
  return out;
}

CloudflareClient::CloudflareClient(asio::any_io_executor executor, std::string base_url, std::string token,
                                   CloudflareOptions options)
    : executor_(executor),
      token_(std::move(token)),
      options_(options),
      http_(executor, base_url.empty() ? std::string(kCloudflareDefaultBase) : std::move(base_url), options.http) {}

CloudflareOptions CloudflareClient::options_from_env(const std::string& http_timeout, std::string* error) {
  CloudflareOptions o;
  if (http_timeout.empty()) return o;
  char* end = nullptr;
  long seconds = std::strtol(http_timeout.c_str(), &end, 10);
  if (end == http_timeout.c_str() || *end != '\0' || seconds <= 0 || seconds > 3600) {
    if (error) *error = "CF_HTTP_TIMEOUT \"" + http_timeout + "\" is not a number of seconds (1-3600); 30 s used";
    return o;
  }
  o.http.request_timeout = std::chrono::seconds(seconds);
  o.http.connect_timeout = std::min<std::chrono::milliseconds>(o.http.connect_timeout, o.http.request_timeout);
  return o;
}

awaitable<CfResponse> CloudflareClient::call(std::string method, std::string target, std::string body) {
  auto delay = options_.retry_delay;
  CfResponse last;
  for (int attempt = 1;; ++attempt) {
    core::HttpRequest req;
    req.method = method;
    req.target = target;
    req.headers.emplace_back("Authorization", "Bearer " + token_);
    req.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    req.body = body;
    core::HttpResult res = co_await http_.request(std::move(req));
    if (res.ok()) {
      last = parse_cf_response(res.response.status, res.response.body);
      if (last.retryable) last.retry_after = parse_retry_after(res.response.header("retry-after"));
    } else {
      last = CfResponse{};
      last.retryable = true;
      last.error = "Cloudflare API: " + res.error;
    }
    if (last.success || !last.retryable || attempt >= options_.attempts) break;
    if (last.retry_after > options_.max_retry_after) break;
    asio::steady_timer timer(executor_, std::max<std::chrono::milliseconds>(delay, last.retry_after));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    delay *= 2;
  }
  if (!last.success) last.error = method + " " + target + ": " + last.error;
  co_return last;
}

awaitable<Result<CfZone>> CloudflareClient::find_zone(std::string fqdn) {
  for (const auto& candidate : zone_candidates(fqdn)) {
    CfResponse r = co_await call("GET", "/zones?name=" + candidate, "");
    if (!r.success) co_return Result<CfZone>::failure(r.error);
    if (auto zone = parse_zone_list(r.result, candidate)) co_return Result<CfZone>::success(*zone);
  }
  co_return Result<CfZone>::failure("Cloudflare API: no zone found for " + strip_name(fqdn) +
                                    " (is the token allowed to read it?)");
}

awaitable<Result<CfRecord>> CloudflareClient::create_txt(std::string zone_id, std::string name, std::string value) {
  Json body = {{"type", "TXT"}, {"name", name}, {"content", value}, {"ttl", 120}, {"comment", kRecordComment}};
  CfResponse r = co_await call("POST", "/zones/" + zone_id + "/dns_records", body.dump());
  if (!r.success) co_return Result<CfRecord>::failure(r.error);
  CfRecord record = parse_record(r.result);
  if (record.id.empty()) co_return Result<CfRecord>::failure("Cloudflare API: created record has no id");
  co_return Result<CfRecord>::success(record);
}

awaitable<Result<std::vector<CfRecord>>> CloudflareClient::list_challenge_txt(std::string zone_id) {
  CfResponse r = co_await call("GET", "/zones/" + zone_id + "/dns_records?type=TXT&per_page=500", "");
  if (!r.success) co_return Result<std::vector<CfRecord>>::failure(r.error);
  co_return Result<std::vector<CfRecord>>::success(parse_challenge_records(r.result));
}

awaitable<Result<bool>> CloudflareClient::delete_record(std::string zone_id, std::string record_id) {
  CfResponse r = co_await call("DELETE", "/zones/" + zone_id + "/dns_records/" + record_id, "");
  if (!r.success) co_return Result<bool>::failure(r.error);
  co_return Result<bool>::success(true);
}

}  // namespace portier::acme
