#include "proxy/request_observation.hpp"

#include <algorithm>

#include "config/observability_loader.hpp"
#include "proxy/access_log_format.hpp"
#include "proxy/observability.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

namespace {

std::string_view tls_version_text(SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION: return "1.3";
    case TLS1_2_VERSION: return "1.2";
    case TLS1_1_VERSION: return "1.1";
    case TLS1_VERSION: return "1.0";
    default: return "unknown";
  }
}

// Whether the comma-separated header value lists `token` (trimmed, case-insensitive).
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Traefik's protocol label (pkg/middlewares/metrics getRequestProtocol), in its order.
ProtocolLabel protocol_of(const RequestHead& head) {
  const auto& h = head.headers;
  if (head.upgrade && lists(find_header(h, "connection"), "upgrade") &&
      lists(find_header(h, "upgrade"), "websocket"))
    return ProtocolLabel::websocket;
  if (lists(find_header(h, "accept"), "text/event-stream")) return ProtocolLabel::sse;
  std::string_view type = find_header(h, "content-type");
  if (type.starts_with("application/grpc-web")) return ProtocolLabel::grpc_web;
  if (type.starts_with("application/grpc")) return ProtocolLabel::grpc;
  return ProtocolLabel::http;
}

}  // namespace

RequestObservation::RequestObservation(WorkerObserver& observer, const ListenerInfo& listener,
                                       const ClientInfo& client, SSL* ssl, int http_version)
    : observer_(observer), client_(client), ssl_(ssl), active_(observer.active()) {
  if (!active_) return;
  t0_ = Clock::now();
  record_.start = std::chrono::system_clock::now();
  record_.entry_point = listener.entry_point.name;
  record_.tls = listener.tls;
  record_.http_version = http_version;
  if (ssl_) {
    record_.tls_version = tls_version_text(ssl_);
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_))
      record_.tls_cipher = SSL_CIPHER_standard_name(cipher);
  }
}

RequestObservation::~RequestObservation() {
  if (!began_) return;
  record_.duration = Clock::now() - t0_;
  if (record_.status == 0) record_.status = 499;  // the client left before an answer (Traefik)
  observer_.record(record_);
}

void RequestObservation::begin(const RequestHead& head) {
  if (!active_) return;
  began_ = true;
  if (record_.http_version == 0) record_.http_version = head.version_minor == 0 ? 10 : 11;
  record_.method_label = method_label(head.method);
  if (observer_.shared().metrics_on()) record_.protocol = protocol_of(head);
  if (observer_.access_log()) capture(head);
}

void RequestObservation::capture(const RequestHead& head) {
  const AccessLogFormat& format = *observer_.access_log();
  method_.assign(head.method);
  path_.assign(head.path);
  if (format.keeps_query() && !head.query.empty()) path_.append("?").append(head.query);
  host_.assign(head.host);
  if (client_.trusted) forwarded_for_.assign(find_header(head.headers, "x-forwarded-for"));
  record_.method = method_;
  record_.path = path_;
  record_.host = host_;
  record_.forwarded_for = forwarded_for_;
  record_.client_ip = client_.ip;
  record_.client_port = client_.port;
  // Referer and User-Agent feed the common format; the rest only the JSON one.
  capture_headers_ = format.captures_headers();
  if (!capture_headers_) return;
  for (const auto& h : head.headers) {
    std::string name = config::canonical_header_name(h.name);
    if (format.header_mode(name) != config::AccessLogConfig::HeaderMode::drop)
      add_field(request_headers_, std::move(name), h.value);
  }
  std::sort(request_headers_.begin(), request_headers_.end());
  record_.request_headers = &request_headers_;
  record_.response_headers = &response_headers_;
}

void RequestObservation::add_field(std::vector<std::pair<std::string, std::string>>& list,
                                   std::string name, std::string_view value) {
  for (auto& [n, v] : list) {
    if (n == name) {
      v.append(",").append(value);
      return;
    }
  }
  list.emplace_back(std::move(name), std::string(value));
}

void RequestObservation::chose(std::string_view url, std::string_view addr) {
  if (!active_) return;
  record_.served = true;
  record_.server_url = url;
  record_.server_addr = addr;
  origin_t0_ = Clock::now();
}

void RequestObservation::origin_head(int status) {
  if (!active_) return;
  record_.status = record_.origin_status = status;
  if (origin_t0_ != Clock::time_point{}) record_.origin_duration = Clock::now() - origin_t0_;
}

void RequestObservation::response_header(std::string_view name, std::string_view value) {
  std::string canonical = config::canonical_header_name(name);
  if (observer_.access_log()->header_mode(canonical) != config::AccessLogConfig::HeaderMode::drop) {
    add_field(response_headers_, std::move(canonical), value);
    std::sort(response_headers_.begin(), response_headers_.end());
  }
}

}  // namespace portier::proxy
