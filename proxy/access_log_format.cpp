#include "proxy/access_log_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

namespace portier::proxy {

namespace {

using HeaderMode = config::AccessLogConfig::HeaderMode;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::array<std::string_view, AccessLogFormat::kFieldCount> kNames{
    "ClientAddr", "ClientHost", "ClientPort", "ClientUsername", "DownstreamContentSize",
    "DownstreamStatus", "Duration", "OriginContentSize", "OriginDuration", "OriginStatus",
    "Overhead", "RequestAddr", "RequestContentSize", "RequestCount", "RequestHost",
    "RequestMethod", "RequestPath", "RequestPort", "RequestProtocol", "RequestScheme",
    "RetryAttempts", "RouterName", "ServiceAddr", "ServiceName", "ServiceURL", "StartLocal",
    "StartUTC", "TLSCipher", "TLSVersion", "entryPointName"};

void append_number(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void append_2(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10 % 10);
  out += static_cast<char>('0' + v % 10);
}

// "host:port" → host, port ("-" when there is no port), as Traefik's silentSplitHostPort.
std::pair<std::string_view, std::string_view> split_host_port(std::string_view v) {
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close != std::string_view::npos && close + 1 < v.size() && v[close + 1] == ':')
      return {v.substr(1, close - 1), v.substr(close + 2)};
    return {v, "-"};
  }
  size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || v.find(':') != colon) return {v, "-"};
  return {v.substr(0, colon), v.substr(colon + 1)};
}

std::string_view protocol_text(int version) {
  return version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

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

std::tm utc_tm(std::chrono::system_clock::time_point t, long* nanos) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  *nanos = static_cast<long>(ns % 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

void append_date_time(std::string& out, const std::tm& tm) {
  append_number(out, tm.tm_year + 1900);
  out += '-';
  append_2(out, tm.tm_mon + 1);
  out += '-';
  append_2(out, tm.tm_mday);
  out += 'T';
  append_2(out, tm.tm_hour);
  out += ':';
  append_2(out, tm.tm_min);
  out += ':';
  append_2(out, tm.tm_sec);
}

void append_fraction(std::string& out, long nanos) {
  if (nanos == 0) return;
  char digits[10];
  for (int i = 8; i >= 0; --i, nanos /= 10) digits[i] = static_cast<char>('0' + nanos % 10);
  int len = 9;
  while (len > 0 && digits[len - 1] == '0') --len;
  out += '.';
  out.append(digits, static_cast<size_t>(len));
}

void append_zone(std::string& out, long offset) {
  if (offset == 0) {
    out += 'Z';
    return;
  }
  out += offset < 0 ? '-' : '+';
  offset = offset < 0 ? -offset : offset;
  append_2(out, static_cast<int>(offset / 3600));
  out += ':';
  append_2(out, static_cast<int>(offset / 60 % 60));
}

// Go's RFC3339 (nanos: RFC3339Nano) in the process's local zone.
void append_rfc3339_local(std::string& out, std::chrono::system_clock::time_point t, bool nanos) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  append_date_time(out, tm);
  if (nanos) append_fraction(out, static_cast<long>(ns % 1000000000));
  append_zone(out, tm.tm_gmtoff);
}

// The common format's [02/Jan/2006:15:04:05 -0700] timestamp (StartUTC: always +0000).
void append_clf_time(std::string& out, std::chrono::system_clock::time_point t) {
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  long nanos = 0;
  std::tm tm = utc_tm(t, &nanos);
  append_2(out, tm.tm_mday);
  out += '/';
  out += kMonths[static_cast<size_t>(tm.tm_mon)];
  out += '/';
  append_number(out, tm.tm_year + 1900);
  out += ':';
  append_2(out, tm.tm_hour);
  out += ':';
  append_2(out, tm.tm_min);
  out += ':';
  append_2(out, tm.tm_sec);
  out += " +0000";
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  if (n == 0 || c > 0xf4 || c == 0xc0 || c == 0xc1 || i + n > s.size()) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else if (n == 3 && c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
      i += 3;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

void append_rfc3339_utc(std::string& out, std::chrono::system_clock::time_point t, bool nanos) {
  long ns = 0;
  std::tm tm = utc_tm(t, &ns);
  append_date_time(out, tm);
  if (nanos) append_fraction(out, ns);
  out += 'Z';
}

AccessLogFormat::AccessLogFormat(const config::AccessLogConfig& cfg) : cfg_(cfg) {
  for (size_t f = 0; f < kFieldCount; ++f) {
    std::string lower(kNames[f]);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto it = cfg.field_names.find(lower);
    keep_[f] = it != cfg.field_names.end() ? it->second : cfg.fields_keep_default;
  }
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

void AccessLogFormat::append(const RequestRecord& r, uint64_t count, std::string& out) const {
  switch (cfg_.format) {
    case config::AccessLogConfig::Format::common: return append_common(r, count, false, out);
    case config::AccessLogConfig::Format::generic_clf: return append_common(r, count, true, out);
    case config::AccessLogConfig::Format::json: return append_json(r, count, out);
  }
}

void AccessLogFormat::append_common(const RequestRecord& r, uint64_t count, bool generic,
                                    std::string& out) const {
  auto token = [&](Field f, std::string_view v) { append_token(out, kept(f) ? v : std::string_view()); };
  token(ClientHost, r.forwarded_for.empty() ? r.client_ip : r.forwarded_for);
  out += " - ";
  token(ClientUsername, "-");
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

void AccessLogFormat::append_json(const RequestRecord& r, uint64_t count, std::string& out) const {
  bool first = true;
  auto key = [&](std::string_view k) {
    out += first ? "{" : ",";
    first = false;
    append_json_string(out, k);
    out += ':';
  };
  auto str = [&](Field f, std::string_view v) {
    if (!kept(f)) return;
    key(kNames[f]);
    append_json_string(out, v);
  };
  auto num = [&](Field f, int64_t v) {
    if (!kept(f)) return;
    key(kNames[f]);
    append_number(out, v);
  };
  std::string addr;
  addr.reserve(r.client_ip.size() + 8);
  bool v6 = r.client_ip.find(':') != std::string_view::npos;
  addr.append(v6 ? "[" : "").append(r.client_ip).append(v6 ? "]:" : ":");
  append_number(addr, r.client_port);
  std::string port;
  append_number(port, r.client_port);
  bool routed = !r.router.empty();
  bool served = r.served;
  auto [req_host, req_port] = split_host_port(r.host);
  int64_t duration = r.duration.count();

  str(ClientAddr, addr);
  str(ClientHost, r.forwarded_for.empty() ? r.client_ip : r.forwarded_for);
  str(ClientPort, port);
  str(ClientUsername, "-");
  num(DownstreamContentSize, static_cast<int64_t>(r.response_bytes));
  num(DownstreamStatus, r.status);
  num(Duration, duration);
  num(OriginContentSize, r.origin_status ? static_cast<int64_t>(r.response_bytes) : 0);
  num(OriginDuration, r.origin_duration.count());
  num(OriginStatus, r.origin_status);
  num(Overhead, duration - r.origin_duration.count());
  if (!r.host.empty()) str(RequestAddr, r.host);
  num(RequestContentSize, static_cast<int64_t>(r.request_bytes));
  num(RequestCount, static_cast<int64_t>(count));
  if (!r.host.empty()) str(RequestHost, req_host);
  str(RequestMethod, r.method);
  str(RequestPath, r.path);
  if (!r.host.empty()) str(RequestPort, req_port);
  str(RequestProtocol, protocol_text(r.http_version));
  str(RequestScheme, r.tls ? "https" : "http");
  num(RetryAttempts, r.retries);
  if (routed) str(RouterName, r.router);
  if (served) str(ServiceAddr, r.server_addr);
  if (served) str(ServiceName, r.service);
  if (served) str(ServiceURL, r.server_url);
  if (kept(StartLocal)) {
    key("StartLocal");
    out += '"';
    append_rfc3339_local(out, r.start, true);
    out += '"';
  }
  if (kept(StartUTC)) {
    key("StartUTC");
    out += '"';
    append_rfc3339_utc(out, r.start, true);
    out += '"';
  }
  if (r.tls) {
    str(TLSCipher, r.tls_cipher);
    str(TLSVersion, r.tls_version);
  }
  auto headers = [&](const Headers* list, std::string_view prefix) {
    if (!list) return;
    for (const auto& [name, value] : *list) {
      HeaderMode mode = header_mode(name);
      if (mode == HeaderMode::drop) continue;
      key(std::string(prefix) + name);
      append_json_string(out, mode == HeaderMode::redact ? std::string_view("REDACTED") : value);
    }
  };
  headers(r.response_headers, "downstream_");
  str(EntryPointName, r.entry_point);
  key("level");
  out += "\"info\"";
  key("msg");
  out += "\"\"";
  headers(r.request_headers, "request_");
  key("time");
  out += '"';
  append_rfc3339_local(out, std::chrono::system_clock::now(), false);
  out += "\"}\n";
}

}  // namespace portier::proxy
