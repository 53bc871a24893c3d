#pragma once
// What the access log's formats share (access_log_format.cpp: common and genericCLF;
// access_log_json.cpp: json): the texts of a second, the JSON string check, and LineWriter,
// which writes a line into a LogBuffer's reserved room. Internal to those files.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "proxy/access_log_format.hpp"
#include "proxy/log_buffer.hpp"

namespace portier::proxy::log_text {

// Traefik's field names, in AccessLogFormat::Field order.
inline constexpr std::array<std::string_view, AccessLogFormat::kFieldCount> kFieldNames{
    "ClientAddr", "ClientHost", "ClientPort", "ClientUsername", "DownstreamContentSize",
    "DownstreamStatus", "Duration", "OriginContentSize", "OriginDuration", "OriginStatus",
    "Overhead", "RequestAddr", "RequestContentSize", "RequestCount", "RequestHost",
    "RequestMethod", "RequestPath", "RequestPort", "RequestProtocol", "RequestScheme",
    "RetryAttempts", "RouterName", "ServiceAddr", "ServiceName", "ServiceURL", "StartLocal",
    "StartUTC", "TLSCipher", "TLSVersion", "entryPointName"};

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

// This thread's texts of `second`, formatted on first use (valid until the thread has formatted
// two other seconds).
const SecondTexts& texts_of(std::time_t second);
// Seconds since the epoch and nanoseconds within the second.
std::pair<std::time_t, long> split_time(std::chrono::system_clock::time_point t);
// The fraction of a second as Go's RFC3339Nano writes it (".123", nothing for 0) into buf.
std::string_view fraction_text(long nanos, char (&buf)[16]);
void append_number(std::string& out, int64_t v);
// "host:port" → host, port ("-" when there is no port), as Traefik's silentSplitHostPort.
std::pair<std::string_view, std::string_view> split_host_port(std::string_view v);
std::string_view protocol_text(int version);
// The length of the run of bytes a JSON string keeps as is (printable ASCII but ", \\, <, >,
// &) at the start of s.
size_t plain_prefix(std::string_view s);

#if defined(__SSE2__)
// Bit i set when byte i of the 16 at p is not one a JSON string keeps as is.
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

// plain_prefix of the n bytes at p, which may read up to 15 bytes past p + n (the caller's
// buffer has that room): a string of up to 16 bytes costs one step. Inline: a line checks
// about ten short strings, and a call each cost as much as the check.
[[gnu::always_inline]] inline size_t plain_prefix_padded(const char* p, size_t n) {
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

// The escaped form of `rest` (its first byte needs escaping) written at `at`, which has room
// for 6 bytes per byte; returns the end. Out of line: clients rarely send such bytes.
char* escape_rest(char* at, std::string_view rest);

// "00" "01" ... "99": two digits per division in write_number.
inline constexpr std::array<char, 200> kDigitPairs = [] {
  std::array<char, 200> t{};
  for (size_t i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

// `v` in decimal at `p`, which has room for 21 bytes; returns the end. Unlike std::to_chars
// there is no pass over the length first: the digits are written backwards, two per
// division, into a scratch array and moved to `p` with one copy of constant size.
inline char* write_number(char* p, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  if (v < 0) {
    *p++ = '-';
    u = 0 - u;
  }
  if (u < 10) {
    *p = static_cast<char>('0' + u);
    return p + 1;
  }
  char scratch[40];  // digits end at scratch + 20; the copy reads 20 bytes from the first
  char* end = scratch + 20;
  char* first = end;
  for (; u >= 100; u /= 100) {
    first -= 2;
    std::memcpy(first, &kDigitPairs[(u % 100) * 2], 2);
  }
  if (u >= 10) {
    first -= 2;
    std::memcpy(first, &kDigitPairs[u * 2], 2);
  } else {
    *--first = static_cast<char>('0' + u);
  }
  std::memcpy(p, first, 20);
  return p + (end - first);
}

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
  char* pos() const { return p_; }
  // After writing at pos() directly (byte loops keep the position in a local).
  void set_pos(char* p) { p_ = p; }
  // A constant text (a string literal, without its NUL): a copy of constant size.
  template <size_t N>
  void lit(const char (&text)[N]) {
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }
  void raw(std::string_view s) { p_ = copy_text(p_, s.data(), s.size()); }
  void ch(char c) { *p_++ = c; }
  // Text of at most 32 bytes from a 32-byte array: a fixed-size copy.
  void short_text(const char (&text)[32], size_t len) {
    std::memcpy(p_, text, 32);
    p_ += len;
  }
  void number(int64_t v) { p_ = write_number(p_, v); }
  // The same, and the text written (to write it again without formatting).
  std::string_view number_text(int64_t v) {
    char* from = p_;
    p_ = write_number(p_, v);
    return {from, static_cast<size_t>(p_ - from)};
  }
  // A JSON string, escaped as append_json_string does: the plain prefix is copied whole,
  // the rest (rare: a byte to escape) goes through append_json_string.
  void json(std::string_view s) {
    *p_++ = '"';
    json_body(s);
    *p_++ = '"';
  }
  // The same without the quotes. Copies s, then checks the copy (plain_prefix_padded reads
  // into the room past it); from the first byte to escape on, it is written again escaped.
  // Whether s was written as is (then so would be any part of it).
  bool json_body(std::string_view s) {
    char* start = p_;
    raw(s);
    size_t plain = plain_prefix_padded(start, s.size());
    if (plain == s.size()) [[likely]]
      return true;
    p_ = escape_rest(start + plain, s.substr(plain));
    return false;
  }

 private:
  LogBuffer& out_;
  char* start_;
  char* p_;
};

}  // namespace portier::proxy::log_text
