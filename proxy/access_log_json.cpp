// AccessLogFormat's json lines (the class is in access_log_format.hpp; common lines are in
// access_log_format.cpp).
#include <array>
#include <charconv>
#include <string>
#include <string_view>

#include "proxy/access_log_format.hpp"
#include "proxy/access_log_text.hpp"

namespace portier::proxy {

using namespace log_text;

namespace {

using HeaderMode = config::AccessLogConfig::HeaderMode;

// ,"Name": for each field (at most 26 bytes), for LineWriter::short_text. The line's first
// ',' becomes its '{'.
struct KeyText {
  char text[32] = {};
  size_t len = 0;
};
constexpr std::array<KeyText, AccessLogFormat::kFieldCount> kKeyTexts = [] {
  std::array<KeyText, AccessLogFormat::kFieldCount> t{};
  for (size_t f = 0; f < t.size(); ++f) {
    std::string_view name = kFieldNames[f];
    t[f].text[0] = ',';
    t[f].text[1] = '"';
    for (size_t i = 0; i < name.size(); ++i) t[f].text[2 + i] = name[i];
    t[f].text[2 + name.size()] = '"';
    t[f].text[3 + name.size()] = ':';
    t[f].len = name.size() + 4;
  }
  return t;
}();

// The RouterName, ServiceAddr, ServiceName and ServiceURL members of a JSON line: the same
// few routers and servers serve most lines, so their text is kept per thread in a small table
// instead of being escaped for each line. An entry is found by the router name's address and
// holds for the same addresses and sizes of the four texts in the same routing snapshot
// generation (whose texts do not change while it lives); generation 0 (unknown) is never kept.
struct RouteFields {
  uint64_t generation = 0;
  std::string_view router, service, url, addr;  // views into that generation's snapshot
  bool served = false;
  unsigned kept = ~0u;  // AccessLogFormat's keep bits of the four fields (~0: never filled)
  std::string text;
};

// The same text by address and size, not by content.
bool identical(std::string_view a, std::string_view b) { return a.data() == b.data() && a.size() == b.size(); }

bool same(const RouteFields& e, const RequestRecord& r, unsigned kept) {
  return e.generation == r.generation && identical(e.router, r.router) && identical(e.service, r.service) &&
         identical(e.url, r.server_url) && identical(e.addr, r.server_addr) && e.kept == kept &&
         e.served == r.served;
}

void fill(RouteFields& e, const RequestRecord& r, unsigned kept) {
  e.generation = r.generation;
  e.router = r.router;
  e.service = r.service;
  e.url = r.server_url;
  e.addr = r.server_addr;
  e.kept = kept;
  e.served = r.served;
  e.text.clear();
  auto member = [&](AccessLogFormat::Field f, unsigned bit, std::string_view v) {
    if (!(kept & bit)) return;
    e.text.append(kKeyTexts[f].text, kKeyTexts[f].len);
    append_json_string(e.text, v);
  };
  if (!r.router.empty()) member(AccessLogFormat::RouterName, 1, r.router);
  if (!r.served) return;
  member(AccessLogFormat::ServiceAddr, 2, r.server_addr);
  member(AccessLogFormat::ServiceName, 4, r.service);
  member(AccessLogFormat::ServiceURL, 8, r.server_url);
}

// `kept`: bit 0 RouterName, 1 ServiceAddr, 2 ServiceName, 3 ServiceURL.
std::string_view route_fields(const RequestRecord& r, unsigned kept) {
  thread_local std::array<RouteFields, 8> table;
  RouteFields& e = table[(reinterpret_cast<uintptr_t>(r.router.data()) >> 4) & 7];
  if (r.generation == 0 || !same(e, r, kept)) fill(e, r, kept);
  return e.text;
}

// Room for a JSON line of `r`: every text that may need escaping at 6 bytes per byte.
size_t json_bound(const RequestRecord& r) {
  size_t bound = 1024 + kSlack + 6 * (r.client_ip.size() + r.forwarded_for.size() + r.host.size() * 2 + r.method.size() +
                             r.path.size() + r.client_username.size() + r.router.size() + r.service.size() + r.server_url.size() +
                             r.server_addr.size() + r.entry_point.size() + r.tls_cipher.size() + r.tls_version.size());
  for (const auto* list : {r.request_headers, r.response_headers})
    if (list)
      for (const auto& [name, value] : *list) bound += 6 * (name.size() + value.size()) + 32;
  return bound;
}

// The header members of a JSON line (`prefix` downstream_ or request_), in the list's order.
void json_headers(const AccessLogFormat& format, LineWriter& w,
                  const std::vector<std::pair<std::string, std::string>>* list, std::string_view prefix) {
  if (!list) return;
  for (const auto& [name, value] : *list) {
    HeaderMode mode = format.header_mode(name);
    if (mode == HeaderMode::drop) continue;
    w.raw(",\"");
    w.raw(prefix);
    w.json_body(name);
    w.raw("\":");
    w.json(mode == HeaderMode::redact ? std::string_view("REDACTED") : std::string_view(value));
  }
}

// The line's end: logrus's entry time, when the request ended (no second clock read).
// `start`: the texts of the request's start second, most often the same second.
void json_time(LineWriter& w, const RequestRecord& r, const SecondTexts& start) {
  auto ended = r.start + std::chrono::duration_cast<std::chrono::system_clock::duration>(r.duration);
  std::time_t second = split_time(ended).first;
  const SecondTexts& now = second == start.second ? start : texts_of(second);
  w.lit(",\"time\":\"");
  w.raw(now.local);
  w.raw(now.zone);
  w.lit("\"}\n");
}

// Whether `method` is written as is in a JSON string without a check: an upper-case verb (GET,
// POST, ...: the method is a token, and a token may hold '&', which JSON escapes).
bool upper_case_word(std::string_view method) {
  if (method.size() > 7) return false;
  for (char c : method)
    if (c < 'A' || c > 'Z') return false;
  return true;
}

// The JSON line when every core field is kept (the default): one straight sequence without a
// test per field, each key written with the quotes around it as one constant-size literal.
// Only texts that can hold a byte to escape are checked: the client's address is an IPv4
// literal or an IPv6 one (which may carry a zone name), Host's parts are checked once, the
// cipher is OpenSSL's IANA name. Byte for byte what AccessLogFormat::append_json's general
// path writes (unit-tested).
void json_all_fields(const AccessLogFormat& format, const RequestRecord& r, uint64_t count, LineWriter& w) {
  std::string_view ip = r.client_ip.substr(0, 46);
  bool v6 = ip.find(':') != std::string_view::npos;
  w.lit("{\"ClientAddr\":\"");
  if (v6) {
    w.ch('[');
    w.json_body(ip);
    w.ch(']');
  } else {
    w.raw(ip);
  }
  w.ch(':');
  std::string_view port_text = w.number_text(r.client_port);
  w.lit("\",\"ClientHost\":\"");
  if (!r.forwarded_for.empty() || v6)
    w.json_body(r.forwarded_for.empty() ? r.client_ip : r.forwarded_for);
  else
    w.raw(r.client_ip);
  w.lit("\",\"ClientPort\":\"");
  w.raw(port_text);
  w.lit("\",\"ClientUsername\":\"");
  if (r.client_username.empty())
    w.ch('-');
  else
    w.json_body(r.client_username);
  int64_t duration = r.duration.count();
  w.lit("\",\"DownstreamContentSize\":");
  std::string_view size_text = w.number_text(static_cast<int64_t>(r.response_bytes));
  w.lit(",\"DownstreamStatus\":");
  std::string_view status_text = w.number_text(r.status);
  w.lit(",\"Duration\":");
  w.number(duration);
  w.lit(",\"OriginContentSize\":");
  if (r.origin_status)  // the same number as DownstreamContentSize: its text again
    w.raw(size_text);
  else
    w.ch('0');
  w.lit(",\"OriginDuration\":");
  w.number(r.origin_duration.count());
  w.lit(",\"OriginStatus\":");
  if (r.origin_status == r.status)
    w.raw(status_text);
  else
    w.number(r.origin_status);
  w.lit(",\"Overhead\":");
  w.number(duration - r.origin_duration.count());
  auto [req_host, req_port] = split_host_port(r.host);
  bool host_plain = true;
  if (!r.host.empty()) {
    w.lit(",\"RequestAddr\":\"");
    host_plain = w.json_body(r.host);
    w.ch('"');
  }
  auto host_part = [&](std::string_view part) {  // "-" or a part of r.host
    if (host_plain)
      w.raw(part);
    else
      w.json_body(part);
  };
  w.lit(",\"RequestContentSize\":");
  w.number(static_cast<int64_t>(r.request_bytes));
  w.lit(",\"RequestCount\":");
  w.number(static_cast<int64_t>(count));
  if (!r.host.empty()) {
    w.lit(",\"RequestHost\":\"");
    host_part(req_host);
    w.ch('"');
  }
  w.lit(",\"RequestMethod\":\"");
  if (upper_case_word(r.method))
    w.raw(r.method);
  else
    w.json_body(r.method);
  w.lit("\",\"RequestPath\":\"");
  w.json_body(r.path);
  w.ch('"');
  if (!r.host.empty()) {
    w.lit(",\"RequestPort\":\"");
    host_part(req_port);
    w.ch('"');
  }
  w.lit(",\"RequestProtocol\":\"");
  w.raw(protocol_text(r.http_version));
  if (r.tls)
    w.lit("\",\"RequestScheme\":\"https\",\"RetryAttempts\":");
  else
    w.lit("\",\"RequestScheme\":\"http\",\"RetryAttempts\":");
  w.number(r.retries);
  w.raw(route_fields(r, 15));
  auto [second, ns] = split_time(r.start);
  const SecondTexts& texts = texts_of(second);
  char fraction_buf[16];
  std::string_view fraction = fraction_text(ns, fraction_buf);
  w.lit(",\"StartLocal\":\"");
  w.raw(texts.local);
  w.raw(fraction);
  w.raw(texts.zone);
  w.lit("\",\"StartUTC\":\"");
  w.raw(texts.utc);
  w.raw(fraction);
  w.lit("Z\"");
  if (r.tls) {
    w.lit(",\"TLSCipher\":\"");
    w.raw(r.tls_cipher);
    w.lit("\",\"TLSVersion\":\"");
    w.raw(r.tls_version);
    w.ch('"');
  }
  if (r.response_headers) json_headers(format, w, r.response_headers, "downstream_");
  w.lit(",\"entryPointName\":\"");
  w.json_body(r.entry_point);
  w.lit("\",\"level\":\"info\",\"msg\":\"\"");
  if (r.request_headers) json_headers(format, w, r.request_headers, "request_");
  json_time(w, r, texts);
}

}  // namespace

void AccessLogFormat::append_json(const RequestRecord& r, uint64_t count, LogBuffer& out) const {
  LineWriter w(out, json_bound(r));
  if (all_kept_) return json_all_fields(*this, r, count, w);
  auto str = [&](Field f, std::string_view v) {
    if (!kept(f)) return;
    w.short_text(kKeyTexts[f].text, kKeyTexts[f].len);
    w.json(v);
  };
  auto known = [&](Field f, std::string_view v) {  // portier's own text: nothing to escape
    if (!kept(f)) return;
    w.short_text(kKeyTexts[f].text, kKeyTexts[f].len);
    w.ch('"');
    w.raw(v);
    w.ch('"');
  };
  auto num = [&](Field f, int64_t v) {
    if (!kept(f)) return;
    w.short_text(kKeyTexts[f].text, kKeyTexts[f].len);
    w.number(v);
  };
  char fraction_buf[16];
  std::string_view fraction;
  auto time = [&](Field f, const std::string& date, std::string_view zone) {
    if (!kept(f)) return;
    w.short_text(kKeyTexts[f].text, kKeyTexts[f].len);
    w.ch('"');
    w.raw(date);
    w.raw(fraction);
    w.raw(zone);
    w.ch('"');
  };
  char addr[64];
  char* end = addr;
  bool v6 = r.client_ip.find(':') != std::string_view::npos;
  if (v6) *end++ = '[';
  size_t ip_len = std::min<size_t>(r.client_ip.size(), 46);
  std::memcpy(end, r.client_ip.data(), ip_len);
  end += ip_len;
  if (v6) *end++ = ']';
  *end++ = ':';
  char* port_begin = end;
  end = std::to_chars(end, addr + sizeof addr, r.client_port).ptr;
  std::string_view client_addr(addr, static_cast<size_t>(end - addr));
  std::string_view client_port(port_begin, static_cast<size_t>(end - port_begin));
  auto [req_host, req_port] = split_host_port(r.host);
  int64_t duration = r.duration.count();
  auto [second, ns] = split_time(r.start);
  const SecondTexts& texts = texts_of(second);
  fraction = fraction_text(ns, fraction_buf);

  str(ClientAddr, client_addr);
  str(ClientHost, r.forwarded_for.empty() ? r.client_ip : r.forwarded_for);
  known(ClientPort, client_port);
  str(ClientUsername, r.client_username.empty() ? "-" : r.client_username);
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
  known(RequestProtocol, protocol_text(r.http_version));
  known(RequestScheme, r.tls ? "https" : "http");
  num(RetryAttempts, r.retries);
  w.raw(route_fields(r, unsigned(kept(RouterName)) | unsigned(kept(ServiceAddr)) << 1 |
                            unsigned(kept(ServiceName)) << 2 | unsigned(kept(ServiceURL)) << 3));
  time(StartLocal, texts.local, texts.zone);
  time(StartUTC, texts.utc, "Z");
  if (r.tls) {
    str(TLSCipher, r.tls_cipher);
    known(TLSVersion, r.tls_version);
  }
  json_headers(*this, w, r.response_headers, "downstream_");
  str(EntryPointName, r.entry_point);
  w.raw(",\"level\":\"info\",\"msg\":\"\"");
  json_headers(*this, w, r.request_headers, "request_");
  json_time(w, r, texts);
  *w.start() = '{';  // the first key's ','
}

}  // namespace portier::proxy
