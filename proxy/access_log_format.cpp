#include "proxy/access_log_format.hpp"

#include <algorithm>
#include <cctype>

#include "proxy/access_log_text.hpp"

namespace portier::proxy {

using namespace log_text;

namespace {

using HeaderMode = config::AccessLogConfig::HeaderMode;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The request path as Go's url.URL prints it: bytes that cannot appear in a log token
// (controls, space, quote, non-ASCII) percent-encoded. At most 3 bytes per byte.
void put_path(LineWriter& w, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  char* p = w.pos();
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      p[0] = '%';
      p[1] = kHex[c >> 4];
      p[2] = kHex[c & 15];
      p += 3;
    } else {
      *p++ = static_cast<char>(c);
    }
  }
  w.set_pos(p);
}

// A quoted common-format field: `"value"` with `"` escaped, or `"-"` when empty. Control
// bytes are escaped too, so a header cannot start a forged line. At most 4 bytes per byte.
void put_quoted(LineWriter& w, std::string_view v) {
  if (v.empty()) {
    w.lit("\"-\"");
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  char* p = w.pos();
  *p++ = '"';
  for (unsigned char c : v) {
    if (c == '"') {
      p[0] = '\\';
      p[1] = '"';
      p += 2;
    } else if (c < 0x20 || c == 0x7f) {
      p[0] = '\\';
      p[1] = 'x';
      p[2] = kHex[c >> 4];
      p[3] = kHex[c & 15];
      p += 4;
    } else {
      *p++ = static_cast<char>(c);
    }
  }
  *p++ = '"';
  w.set_pos(p);
}

// An unquoted token, "-" when empty: bytes that cannot appear in one become '?'.
void put_token(LineWriter& w, std::string_view v) {
  if (v.empty()) return w.ch('-');
  char* p = w.pos();
  for (unsigned char c : v) *p++ = (c <= 0x20 || c >= 0x7f || c == '"') ? '?' : static_cast<char>(c);
  w.set_pos(p);
}

std::string_view header_value(const Headers* headers, std::string_view name) {
  if (!headers) return {};
  for (const auto& [n, v] : *headers)
    if (n == name) return v;
  return {};
}

}  // namespace

AccessLogFormat::AccessLogFormat(const config::AccessLogConfig& cfg) : cfg_(cfg) {
  for (size_t f = 0; f < kFieldCount; ++f) {
    std::string lower(kFieldNames[f]);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = cfg.field_names.find(lower);
    keep_[f] = it != cfg.field_names.end() ? it->second : cfg.fields_keep_default;
  }
  all_kept_ = keep_.all();
  referer_mode_ = header_mode("Referer");
  user_agent_mode_ = header_mode("User-Agent");
  captures_headers_ = cfg.headers_default != HeaderMode::drop;
  for (const auto& [name, mode] : cfg.header_names) captures_headers_ |= mode != HeaderMode::drop;
}

config::AccessLogConfig::HeaderMode AccessLogFormat::header_mode(std::string_view canonical) const {
  auto it = cfg_.header_names.find(std::string(canonical));
  return it != cfg_.header_names.end() ? it->second : cfg_.headers_default;
}

bool AccessLogFormat::keep(const RequestRecord& r) const {
  bool any = !cfg_.status_codes.empty() || cfg_.retry_attempts || cfg_.min_duration.count() > 0;
  if (!any) return true;
  for (auto [low, high] : cfg_.status_codes)
    if (r.status >= low && r.status <= high) return true;
  if (cfg_.retry_attempts && r.retries > 0) return true;
  return cfg_.min_duration.count() > 0 && r.duration > cfg_.min_duration;
}

void AccessLogFormat::append(const RequestRecord& r, uint64_t count, LogBuffer& out) const {
  if (cfg_.format == config::AccessLogConfig::Format::json) return append_json(r, count, out);
  append_common(r, count, cfg_.format == config::AccessLogConfig::Format::generic_clf, out);
}

void AccessLogFormat::append(const RequestRecord& r, uint64_t count, std::string& out) const {
  LogBuffer line;
  append(r, count, line);
  out.append(line.view());
}

std::string_view AccessLogFormat::common_header(const RequestRecord& r, std::string_view name,
                                                HeaderMode mode) const {
  std::string_view v = mode == HeaderMode::drop ? std::string_view() : header_value(r.request_headers, name);
  return !v.empty() && mode == HeaderMode::redact ? "REDACTED" : v;
}

void AccessLogFormat::append_common(const RequestRecord& r, uint64_t count, bool generic,
                                    LogBuffer& out) const {
  std::string_view referer = common_header(r, "Referer", referer_mode_);
  std::string_view agent = common_header(r, "User-Agent", user_agent_mode_);
  LineWriter w(out, 256 + kSlack + r.client_ip.size() + r.forwarded_for.size() + r.client_username.size() +
                        r.method.size() + 3 * r.path.size() +
                        4 * (referer.size() + agent.size() + r.router.size() + r.server_url.size()));
  auto kept_or_empty = [&](Field f, std::string_view v) { return kept(f) ? v : std::string_view(); };
  put_token(w, kept_or_empty(ClientHost, r.forwarded_for.empty() ? r.client_ip : r.forwarded_for));
  w.lit(" - ");
  put_token(w, kept_or_empty(ClientUsername, r.client_username.empty() ? "-" : r.client_username));
  w.lit(" [");
  if (kept(StartUTC))  // [02/Jan/2006:15:04:05 -0700], StartUTC: always +0000
    w.raw(texts_of(split_time(r.start).first).clf);
  else
    w.ch('-');
  w.lit("] \"");
  put_token(w, kept_or_empty(RequestMethod, r.method));
  w.ch(' ');
  if (kept(RequestPath) && !r.path.empty())
    put_path(w, r.path);
  else
    w.ch('-');
  w.ch(' ');
  put_token(w, kept_or_empty(RequestProtocol, protocol_text(r.http_version)));
  w.lit("\" ");
  if (kept(DownstreamStatus)) w.number(r.status); else w.ch('-');
  w.ch(' ');
  if (kept(DownstreamContentSize)) w.number(static_cast<int64_t>(r.response_bytes)); else w.ch('-');
  w.ch(' ');
  put_quoted(w, referer);
  w.ch(' ');
  put_quoted(w, agent);
  if (!generic) {
    w.ch(' ');
    if (kept(RequestCount)) w.number(static_cast<int64_t>(count)); else w.ch('-');
    w.ch(' ');
    put_quoted(w, kept_or_empty(RouterName, r.router));
    w.ch(' ');
    put_quoted(w, kept_or_empty(ServiceURL, r.server_url));
    w.ch(' ');
    w.number(kept(Duration) ? r.duration.count() / 1000000 : 0);
    w.lit("ms");
  }
  w.ch('\n');
}

}  // namespace portier::proxy
