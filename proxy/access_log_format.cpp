#include "proxy/access_log_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  return version == 30 ? "HTTP/3.0" : version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
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

// The fraction of a second as Go's RFC3339Nano writes it (".123", nothing for 0) into buf.
std::string_view fraction_text(long nanos, char (&buf)[16]) {
  if (nanos == 0) return {};
  buf[0] = '.';
  for (int i = 9; i >= 1; --i, nanos /= 10) buf[i] = static_cast<char>('0' + nanos % 10);
  size_t len = 10;
  while (buf[len - 1] == '0') --len;
  return {buf, len};
}

void append_fraction(std::string& out, long nanos) {
  char buf[16];
  out.append(fraction_text(nanos, buf));
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

// The texts of one second, formatted once per second and thread (a busy worker logs many
// lines within a second; gmtime/localtime per line would cost more than the rest of a line).
// Two seconds are kept: around a second's change, the requests in flight started in the
// previous one and end in the next, and one entry would be formatted again for each line.
struct SecondTexts {
  std::time_t second = -1;
  std::string utc;    // 2006-01-02T15:04:05
  std::string local;  // the same in the local zone
  std::string zone;   // Z or +hh:mm
  std::string clf;    // 02/Jan/2006:15:04:05 +0000
};

const SecondTexts& texts_of(std::time_t second) {
  thread_local std::array<SecondTexts, 2> cache;
  SecondTexts& t = cache[static_cast<size_t>(second) & 1];
  if (t.second == second) return t;
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  t.second = second;
  std::tm utc{}, local{};
  gmtime_r(&second, &utc);
  localtime_r(&second, &local);
  t.utc.clear();
  append_date_time(t.utc, utc);
  t.local.clear();
  append_date_time(t.local, local);
  t.zone.clear();
  append_zone(t.zone, local.tm_gmtoff);
  t.clf.clear();
  append_2(t.clf, utc.tm_mday);
  t.clf.append("/").append(kMonths[static_cast<size_t>(utc.tm_mon)]).append("/");
  append_number(t.clf, utc.tm_year + 1900);
  t.clf += ':';
  append_2(t.clf, utc.tm_hour);
  t.clf += ':';
  append_2(t.clf, utc.tm_min);
  t.clf += ':';
  append_2(t.clf, utc.tm_sec);
  t.clf += " +0000";
  return t;
}

std::pair<std::time_t, long> split_time(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return {static_cast<std::time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

// The common format's [02/Jan/2006:15:04:05 -0700] timestamp (StartUTC: always +0000).
void append_clf_time(std::string& out, std::chrono::system_clock::time_point t) {
  out.append(texts_of(split_time(t).first).clf);
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

// Bytes that leave a JSON string unchanged (printable ASCII but ", \\, <, >, &).
constexpr std::array<bool, 256> kJsonPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : {'"', '\\', '<', '>', '&'}) t[static_cast<unsigned char>(c)] = false;
  return t;
}();

namespace {

#if defined(__SSE2__)
// Bit i set when byte i of the 16 at p is not kJsonPlain.
[[gnu::always_inline]] inline unsigned not_plain_mask(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too.
  __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
  bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')), _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))));
  bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('&')));
  return static_cast<unsigned>(_mm_movemask_epi8(bad));
}
#endif

// The length of the run of kJsonPlain bytes at the start of s: 16 bytes per step where SSE2
// is there (every x86-64), a table lookup per byte otherwise and for the tail.
size_t plain_prefix(std::string_view s) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= s.size(); i += 16)
    if (unsigned mask = not_plain_mask(s.data() + i)) return i + static_cast<size_t>(__builtin_ctz(mask));
#endif
  while (i < s.size() && kJsonPlain[static_cast<unsigned char>(s[i])]) ++i;
  return i;
}

// plain_prefix of the n bytes at p, which may read up to 15 bytes past p + n (the caller's
// buffer has that room): a short string costs one step, not one per byte.
size_t plain_prefix_padded(const char* p, size_t n) {
#if defined(__SSE2__)
  for (size_t i = 0; i < n; i += 16) {
    unsigned mask = not_plain_mask(p + i);
    if (n - i < 16) mask &= (1u << (n - i)) - 1;
    if (mask) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
  return n;
#else
  return plain_prefix(std::string_view(p, n));
#endif
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i + plain_prefix(s.substr(i));
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
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
      } else {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
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
  auto [second, ns] = split_time(t);
  out.append(texts_of(second).utc);
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

namespace {

// Writes a line into room reserved at the end of a LogBuffer (not zero-filled), committed when
// the writer goes: the bound is computed by the caller (6 bytes per input byte for escaped
// strings) and keeps kSlack bytes past the end of the line, which the fixed-size copies and
// checks may touch.
constexpr size_t kSlack = 64;

class LineWriter {
 public:
  LineWriter(LogBuffer& out, size_t bound) : out_(out), start_(out.reserve(bound)), p_(start_) {}
  ~LineWriter() { out_.commit(p_); }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  char* start() const { return start_; }
  // Most texts of a line are short: up to 32 bytes they are copied by fixed-size moves, which
  // read and write only inside the text (two overlapping halves).
  void raw(std::string_view s) {
    const char* src = s.data();
    size_t n = s.size();
    if (n == 0) return;  // an empty view may have no data pointer (memcpy needs one)
    if (n > 32) {
#pragma GCC diagnostic push  // GCC 12 sees sizes above PTRDIFF_MAX on a path that has none
#pragma GCC diagnostic ignored "-Wstringop-overflow"
      std::memcpy(p_, src, n);
#pragma GCC diagnostic pop
    } else if (n >= 16) {
      std::memcpy(p_, src, 16);
      std::memcpy(p_ + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
      std::memcpy(p_, src, 8);
      std::memcpy(p_ + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
      std::memcpy(p_, src, 4);
      std::memcpy(p_ + n - 4, src + n - 4, 4);
    } else {
      p_[0] = src[0];
      p_[n / 2] = src[n / 2];
      p_[n - 1] = src[n - 1];
    }
    p_ += n;
  }
  void ch(char c) { *p_++ = c; }
  // Text of at most 32 bytes from a 32-byte array: a fixed-size copy.
  void short_text(const char (&text)[32], size_t len) {
    std::memcpy(p_, text, 32);
    p_ += len;
  }
  void number(int64_t v) { p_ = std::to_chars(p_, p_ + 24, v).ptr; }
  // A JSON string, escaped as append_json_string does: the plain prefix is copied whole,
  // the rest (rare: a byte to escape) goes through append_json_string.
  void json(std::string_view s) {
    *p_++ = '"';
    json_body(s);
    *p_++ = '"';
  }
  // The same without the quotes. Copies s, then checks the copy (plain_prefix_padded reads
  // into the room past it); from the first byte to escape on, it is written again escaped.
  void json_body(std::string_view s) {
    char* start = p_;
    raw(s);
    size_t plain = plain_prefix_padded(start, s.size());
    if (plain < s.size()) {
      p_ = start + plain;
      std::string tail;
      append_json_string(tail, s.substr(plain));
      raw(std::string_view(tail).substr(1, tail.size() - 2));
    }
  }

 private:
  LogBuffer& out_;
  char* start_;
  char* p_;
};

// ,"Name": for each field (at most 26 bytes), for LineWriter::short_text. The line's first
// ',' becomes its '{'.
struct KeyText {
  char text[32] = {};
  size_t len = 0;
};
constexpr std::array<KeyText, AccessLogFormat::kFieldCount> kKeyTexts = [] {
  std::array<KeyText, AccessLogFormat::kFieldCount> t{};
  for (size_t f = 0; f < t.size(); ++f) {
    std::string_view name = kNames[f];
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
// (indexed by the router name's address, checked by content, so a snapshot's change or a
// reused address cannot show a stale name) instead of being escaped for each line.
struct RouteFields {
  std::string router, service, url, addr;
  bool served = false;
  unsigned kept = ~0u;  // AccessLogFormat's keep bits of the four fields (~0: never filled)
  std::string text;
};

bool same(const RouteFields& e, const RequestRecord& r, unsigned kept) {
  return e.kept == kept && e.served == r.served && e.router == r.router &&
         (!r.served || (e.service == r.service && e.url == r.server_url && e.addr == r.server_addr));
}

void fill(RouteFields& e, const RequestRecord& r, unsigned kept) {
  e.kept = kept;
  e.served = r.served;
  e.router.assign(r.router);
  e.service.assign(r.served ? r.service : std::string_view());
  e.url.assign(r.served ? r.server_url : std::string_view());
  e.addr.assign(r.served ? r.server_addr : std::string_view());
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
  if (!same(e, r, kept)) fill(e, r, kept);
  return e.text;
}

}  // namespace

void AccessLogFormat::append_json(const RequestRecord& r, uint64_t count, LogBuffer& out) const {
  size_t bound = 1024 + kSlack + 6 * (r.client_ip.size() + r.forwarded_for.size() + r.host.size() * 2 + r.method.size() +
                             r.path.size() + r.client_username.size() + r.router.size() + r.service.size() + r.server_url.size() +
                             r.server_addr.size() + r.entry_point.size() + r.tls_cipher.size() + r.tls_version.size());
  for (const auto* list : {r.request_headers, r.response_headers})
    if (list)
      for (const auto& [name, value] : *list) bound += 6 * (name.size() + value.size()) + 32;
  LineWriter w(out, bound);
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
  auto headers = [&](const std::vector<std::pair<std::string, std::string>>* list, std::string_view prefix) {
    if (!list) return;
    for (const auto& [name, value] : *list) {
      HeaderMode mode = header_mode(name);
      if (mode == HeaderMode::drop) continue;
      w.raw(",\"");
      w.raw(prefix);
      w.json_body(name);
      w.raw("\":");
      w.json(mode == HeaderMode::redact ? std::string_view("REDACTED") : std::string_view(value));
    }
  };
  headers(r.response_headers, "downstream_");
  str(EntryPointName, r.entry_point);
  w.raw(",\"level\":\"info\",\"msg\":\"\"");
  headers(r.request_headers, "request_");
  // logrus's entry time: when the request ended (no second clock read).
  auto ended = r.start + std::chrono::duration_cast<std::chrono::system_clock::duration>(r.duration);
  const SecondTexts& now = texts_of(split_time(ended).first);
  w.raw(",\"time\":\"");
  w.raw(now.local);
  w.raw(now.zone);
  w.raw("\"}\n");
  *w.start() = '{';  // the first key's ','
}

}  // namespace portier::proxy
