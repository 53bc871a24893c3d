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
// (controls, space, quote, non-ASCII) percent-encoded.
void append_path(std::string& out, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
}

// A quoted common-format field: `"value"` with `"` escaped, or `"-"` when empty. Control
// bytes are escaped too, so a header cannot start a forged line.
void append_quoted(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += "\"-\"";
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    if (c == '"') {
      out += "\\\"";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void append_token(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += '-';
    return;
  }
  for (unsigned char c : v) out += (c <= 0x20 || c >= 0x7f || c == '"') ? '?' : static_cast<char>(c);
}

std::string_view header_value(const Headers* headers, std::string_view name) {
  if (!headers) return {};
  for (const auto& [n, v] : *headers)
    if (n == name) return v;
  return {};
}


// The common format's [02/Jan/2006:15:04:05 -0700] timestamp (StartUTC: always +0000).
void append_clf_time(std::string& out, std::chrono::system_clock::time_point t) {
  out.append(texts_of(split_time(t).first).clf);
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
  thread_local std::string line;
  line.clear();
  append_common(r, count, cfg_.format == config::AccessLogConfig::Format::generic_clf, line);
  out.append(line);
}

void AccessLogFormat::append(const RequestRecord& r, uint64_t count, std::string& out) const {
  LogBuffer line;
  append(r, count, line);
  out.append(line.view());
}

void AccessLogFormat::append_common(const RequestRecord& r, uint64_t count, bool generic,
                                    std::string& out) const {
  auto token = [&](Field f, std::string_view v) { append_token(out, kept(f) ? v : std::string_view()); };
  token(ClientHost, r.forwarded_for.empty() ? r.client_ip : r.forwarded_for);
  out += " - ";
  token(ClientUsername, r.client_username.empty() ? "-" : r.client_username);
  out += " [";
  if (kept(StartUTC))
    append_clf_time(out, r.start);
  else
    out += '-';
  out += "] \"";
  token(RequestMethod, r.method);
  out += ' ';
  if (kept(RequestPath) && !r.path.empty())
    append_path(out, r.path);
  else
    out += '-';
  out += ' ';
  token(RequestProtocol, protocol_text(r.http_version));
  out += "\" ";
  if (kept(DownstreamStatus)) append_number(out, r.status); else out += '-';
  out += ' ';
  if (kept(DownstreamContentSize)) append_number(out, static_cast<int64_t>(r.response_bytes)); else out += '-';
  out += ' ';
  for (std::string_view name : {std::string_view("Referer"), std::string_view("User-Agent")}) {
    std::string_view v = header_value(r.request_headers, name);
    HeaderMode mode = header_mode(name);
    if (mode == HeaderMode::drop) v = {};
    if (!v.empty() && mode == HeaderMode::redact) v = "REDACTED";
    append_quoted(out, v);
    if (name == "Referer") out += ' ';
  }
  if (!generic) {
    out += ' ';
    if (kept(RequestCount)) append_number(out, static_cast<int64_t>(count)); else out += '-';
    out += ' ';
    append_quoted(out, kept(RouterName) ? r.router : std::string_view());
    out += ' ';
    append_quoted(out, kept(ServiceURL) ? r.server_url : std::string_view());
    out += ' ';
    append_number(out, kept(Duration) ? r.duration.count() / 1000000 : 0);
    out += "ms";
  }
  out += '\n';
}

}  // namespace portier::proxy
