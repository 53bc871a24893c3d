#include "proxy/access_log_text.hpp"

#include <algorithm>
#include <charconv>

namespace portier::proxy {

namespace log_text {

namespace {

void append_2(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10 % 10);
  out += static_cast<char>('0' + v % 10);
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

// Bytes that leave a JSON string unchanged (printable ASCII but ", \\, <, >, &).
constexpr std::array<bool, 256> kJsonPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : {'"', '\\', '<', '>', '&'}) t[static_cast<unsigned char>(c)] = false;
  return t;
}();


}  // namespace

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

void append_number(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// "host:port" → host, port ("-" when there is no port), as Traefik's silentSplitHostPort.
std::pair<std::string_view, std::string_view> split_host_port(std::string_view v) {
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close != std::string_view::npos && close + 1 < v.size() && v[close + 1] == ':')
      return {v.substr(1, close - 1), v.substr(close + 2)};
    return {v, "-"};
  }
  size_t colon = v.find(':');
  if (colon == std::string_view::npos || v.find(':', colon + 1) != std::string_view::npos) return {v, "-"};
  return {v.substr(0, colon), v.substr(colon + 1)};
}

std::string_view protocol_text(int version) {
  return version == 30 ? "HTTP/3.0" : version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

// The fraction of a second as Go's RFC3339Nano writes it (".123", nothing for 0) into buf.
std::string_view fraction_text(long nanos, char (&buf)[16]) {
  if (nanos == 0) return {};
  buf[0] = '.';
  auto n = static_cast<unsigned long>(nanos);  // < 10^9: nine digits, four pairs and one
  for (int i = 8; i >= 2; i -= 2, n /= 100) std::memcpy(&buf[i], &kDigitPairs[(n % 100) * 2], 2);
  buf[1] = static_cast<char>('0' + n);
  size_t len = 10;
  while (buf[len - 1] == '0') --len;
  return {buf, len};
}

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

char* escape_rest(char* at, std::string_view rest) {
  std::string tail;
  append_json_string(tail, rest);
  std::string_view body = std::string_view(tail).substr(1, tail.size() - 2);
  std::memcpy(at, body.data(), body.size());
  return at + body.size();
}

}  // namespace log_text

using namespace log_text;

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

}  // namespace portier::proxy
