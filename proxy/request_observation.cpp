#include "proxy/request_observation.hpp"

#include <algorithm>

#include "config/http_token.hpp"
#include "config/observability_loader.hpp"
#include "proxy/access_log_format.hpp"
#include "proxy/log_buffer.hpp"
#include "proxy/observability.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

namespace {

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

// Traefik's protocol label (pkg/middlewares/metrics getRequestProtocol), in its order; one
// pass over the fields.
ProtocolLabel protocol_of(const RequestHead& head) {
  std::string_view connection, upgrade, accept, type;
  for (const auto& h : head.headers) {
    switch (h.name.size()) {
      case 6: if (iequals(h.name, "accept")) accept = h.value; break;
      case 7: if (iequals(h.name, "upgrade")) upgrade = h.value; break;
      case 10: if (iequals(h.name, "connection")) connection = h.value; break;
      case 12: if (iequals(h.name, "content-type")) type = h.value; break;
      default: break;
    }
  }
  if (head.upgrade && lists(connection, "upgrade") && lists(upgrade, "websocket"))
    return ProtocolLabel::websocket;
  if (!accept.empty() && lists(accept, "text/event-stream")) return ProtocolLabel::sse;
  if (type.starts_with("application/grpc-web")) return ProtocolLabel::grpc_web;
  if (type.starts_with("application/grpc")) return ProtocolLabel::grpc;
  return ProtocolLabel::http;
}

void add_field(std::vector<std::pair<std::string, std::string>>& list, std::string name,
               std::string_view value) {
  for (auto& [n, v] : list) {
    if (n == name) {
      v.append(",").append(value);
      return;
    }
  }
  list.emplace_back(std::move(name), std::string(value));
}

}  // namespace

void ObservationState::reset() {
  record = RequestRecord{};
  capture_headers = false;
  origin_t0 = {};
  user.clear();
  header_values.clear();
  request_headers.clear();
  response_headers.clear();
}

char* ObservationState::texts_room(size_t n) {
  if (texts_capacity < n) {
    texts_capacity = std::max<size_t>(n, 256);
    texts = std::make_unique_for_overwrite<char[]>(texts_capacity);
  }
  return texts.get();
}

RequestObservation::RequestObservation(WorkerObserver& observer, const ListenerInfo& listener,
                                       const ClientInfo& client, int http_version)
    : observer_(observer), client_(client) {
  if (!observer.active()) return;
  s_ = observer.acquire();
  s_->t0 = ObservationState::Clock::now();
  RequestRecord& r = s_->record;
  if (observer.access_log()) r.start = observer.wall_time(s_->t0);  // only lines show it
  r.entry_point = listener.entry_point.name;
  r.tls = listener.tls;
  r.http_version = http_version;
  r.tls_version = client.tls_version;  // "" on cleartext: no TLS fields
  r.tls_cipher = client.tls_cipher;
}

RequestObservation::~RequestObservation() {
  if (!s_) return;
  RequestRecord& r = s_->record;
  r.duration = ObservationState::Clock::now() - s_->t0;
  if (r.status == 0) r.status = 499;  // the client left before an answer (Traefik)
  observer_.record(r);
  observer_.release(s_);
}

void RequestObservation::begin(const RequestHead& head) {
  if (!s_) return;
  RequestRecord& r = s_->record;
  if (r.http_version == 0) r.http_version = head.version_minor == 0 ? 10 : 11;
  if (observer_.shared().metrics_on()) {
    r.method_label = method_label(head.method);
    r.protocol = protocol_of(head);
    if (!observer_.shared().config().prometheus.header_labels.empty()) capture_header_labels(head);
  }
  if (observer_.access_log()) capture(head, client_);
}

void RequestObservation::capture(const RequestHead& head, const ClientInfo& client) {
  const AccessLogFormat& format = *observer_.access_log();
  ObservationState& s = *s_;
  RequestRecord& r = s.record;
  std::string_view query = format.keeps_query() ? head.query : std::string_view();
  std::string_view forwarded_for = client.trusted ? find_header(head.headers, "x-forwarded-for") : std::string_view();
  char* p = s.texts_room(head.method.size() + head.path.size() + 1 + query.size() + head.host.size() +
                         forwarded_for.size());
  auto copy = [&p](std::string_view v) {
    std::string_view kept(p, v.size());
    p = copy_text(p, v.data(), v.size());
    return kept;
  };
  r.method = copy(head.method);
  char* path = p;
  p = copy_text(p, head.path.data(), head.path.size());
  if (!query.empty()) {
    *p++ = '?';
    p = copy_text(p, query.data(), query.size());
  }
  r.path = std::string_view(path, static_cast<size_t>(p - path));
  r.host = copy(head.host);
  r.forwarded_for = copy(forwarded_for);
  r.client_ip = client.ip;
  r.client_port = client.port;
  s.capture_headers = format.captures_headers();
  if (!s.capture_headers) return;
  for (const auto& h : head.headers) {
    std::string name = config::canonical_header_name(h.name);
    if (format.header_mode(name) != config::AccessLogConfig::HeaderMode::drop)
      add_field(s.request_headers, std::move(name), h.value);
  }
  std::sort(s.request_headers.begin(), s.request_headers.end());
  r.request_headers = &s.request_headers;
  r.response_headers = &s.response_headers;
}

// Traefik reads req.Header.Get(name) after its forwarded-headers handler: Host is never in
// that map (""), the X-Forwarded-* headers hold what is forwarded, any other the first value.
// Bytes outside printable ASCII become '?': a label value must be UTF-8 (Prometheus refuses
// the whole scrape otherwise) and '\x1f' separates the values.
void RequestObservation::capture_header_labels(const RequestHead& head) {
  ObservationState& s = *s_;
  for (const auto& [label, header] : observer_.shared().config().prometheus.header_labels) {
    size_t from = s.header_values.size();
    if (iequals(header, "host")) {
      // no value
    } else if (auto forwarded = forwarded_value(header, head, client_.tls, client_.trusted, client_.ip)) {
      s.header_values.append(*forwarded);
    } else {
      s.header_values.append(find_header(head.headers, header));
    }
    for (size_t i = from; i < s.header_values.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s.header_values[i]);
      if (c < 0x20 || c >= 0x7f) s.header_values[i] = '?';
    }
    s.header_values.push_back('\x1f');
  }
  s.record.header_values = s.header_values;
}

void RequestObservation::chose(std::string_view url, std::string_view addr, ObservationState::Clock::time_point at) {
  if (!s_) return;
  s_->record.served = true;
  s_->record.server_url = url;
  s_->record.server_addr = addr;
  if (observer_.access_log()) s_->origin_t0 = at;  // OriginDuration's start (lines only)
}

void RequestObservation::origin_head(int status) {
  if (!s_) return;
  s_->record.status = s_->record.origin_status = status;
  if (s_->origin_t0 != ObservationState::Clock::time_point{})
    s_->record.origin_duration = ObservationState::Clock::now() - s_->origin_t0;
}

void RequestObservation::response_header(std::string_view name, std::string_view value) {
  std::string canonical = config::canonical_header_name(name);
  if (observer_.access_log()->header_mode(canonical) != config::AccessLogConfig::HeaderMode::drop) {
    add_field(s_->response_headers, std::move(canonical), value);
    std::sort(s_->response_headers.begin(), s_->response_headers.end());
  }
}

}  // namespace portier::proxy
