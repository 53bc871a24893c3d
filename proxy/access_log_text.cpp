#include "proxy/access_log_text.hpp"

#include <algorithm>
#include <charconv>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

}  // namespace

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
  size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || v.find(':') != colon) return {v, "-"};
  return {v.substr(0, colon), v.substr(colon + 1)};
}

std::string_view protocol_text(int version) {
  return version == 30 ? "HTTP/3.0" : version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
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
