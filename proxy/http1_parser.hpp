#pragma once
// Strict HTTP/1.1 message-head parsing and chunked-body scanning for the proxy.
// Views point into the caller's buffer: they are valid while that buffer is unchanged.
// Anything ambiguous (CL+TE, duplicate or bad Content-Length, obs-fold, bare LF, bad chunk
// sizes) is an error, so a request is never forwarded with framing a backend could read
// differently (request smuggling).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace portier::proxy {

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

struct HttpLimits {
  size_t max_request_line = 16384;  // 414 beyond
  size_t max_header_bytes = 65536;  // whole head; 431 beyond
  size_t max_headers = 100;         // 431 beyond
};

enum class BodyKind { none, length, chunked, until_close };

enum class ParseStatus { complete, need_more, error };

struct ParseOutcome {
  ParseStatus status = ParseStatus::need_more;
  int http_status = 0;       // for errors: 400, 414, 431, 501
  const char* reason = "";  // for logs
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // as received
  std::string_view path;    // origin-form path (absolute-form reduced), no query
  std::string_view query;   // without '?'
  std::string_view host;    // Host header value (or authority of absolute-form)
  int version_minor = 1;    // HTTP/1.x
  std::vector<HeaderField> headers;
  size_t head_size = 0;  // bytes of the head including the final CRLF
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
  bool upgrade = false;  // Connection: upgrade + Upgrade header
  std::string_view connection;  // Connection header value (to strip listed headers)
};

struct ResponseHead {
  int status = 0;
  int version_minor = 1;
  std::string_view reason;
  std::vector<HeaderField> headers;
  size_t head_size = 0;
  BodyKind body = BodyKind::none;
  uint64_t content_length = 0;
  bool keep_alive = true;
  std::string_view connection;
};

// The header fields of a head (the lines after the start line, up to the blank line) into
// `headers`: parse_header_fields is the fast path, parse_header_fields_checked the line by
// line reference it hands irregular lines to (both public for the equivalence test).
ParseOutcome parse_header_fields(std::string_view block, const HttpLimits& limits, std::vector<HeaderField>& headers);
ParseOutcome parse_header_fields_checked(std::string_view block, const HttpLimits& limits,
                                         std::vector<HeaderField>& headers);

// Parses a request head from the start of `buf`. need_more until "\r\n\r\n" arrives (the
// limits are enforced on partial input too, so an endless head is refused early).
ParseOutcome parse_request_head(std::string_view buf, const HttpLimits& limits, RequestHead& out);

// Parses a response head. `head_request` / the status decide whether a body follows.
ParseOutcome parse_response_head(std::string_view buf, const HttpLimits& limits,
                                 bool head_request, ResponseHead& out);

// Walks a chunked body as it streams through, without changing it, to find its end and
// reject malformed framing. Trailer fields are checked byte by byte as they pass (a token
// name, ':', a value of VCHAR/obs-text/SP/HTAB, CRLF; 16 KiB in all), so a section that is
// not trailer fields (the next pipelined request after a last chunk missing its CRLF) is an
// error before any byte of its terminator is consumed.
// One byte of a trailer field line (RFC 9112 §7.1.2): a token, ':', then a field value (VCHAR,
// obs-text, SP, HTAB) ended by CR; the LF and the end of the section are the caller's. The
// state is the caller's (zero-initialised per line). ChunkedScanner and the HTTP/2 side's
// ChunkedDecoder both use it, with kMaxTrailerSection, so they judge a trailer section alike.
struct TrailerLine {
  bool in_value = false;
  size_t name_bytes = 0;
  bool accept(char c);
};
inline constexpr size_t kMaxTrailerSection = 16384;

class ChunkedScanner {
 public:
  enum class Result { more, done, error };
  // Consumes up to data.size() bytes; *used is how many belong to the body (on done, the
  // rest belongs to the next message).
  Result feed(std::string_view data, size_t* used);
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State { size, ext, size_lf, data, data_cr, data_lf, trailer_start, trailer_name, trailer_value, trailer_lf, final_lf };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  uint64_t body_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  size_t trailer_name_bytes_ = 0;
};

// Where a message body ends as its bytes stream through, whatever the framing.
class BodyFraming {
 public:
  BodyFraming(BodyKind kind, uint64_t content_length) : kind_(kind), remaining_(content_length) {}
  enum class Step { more, done, error };
  // *take = how many bytes of `avail` belong to the body; done when the body ends with them.
  // An until_close body takes everything and is never done (the peer's EOF ends it).
  Step feed(std::string_view avail, size_t* take);
  // Body bytes seen so far (decoded size for chunked bodies).
  uint64_t body_bytes() const { return kind_ == BodyKind::chunked ? scanner_.body_bytes() : seen_; }

 private:
  BodyKind kind_;
  uint64_t remaining_;
  uint64_t seen_ = 0;
  ChunkedScanner scanner_;
};

// ASCII case-insensitive equality (header names, tokens). Inline: the forwarding path calls
// it for every header against several names, and most calls end at the size check.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z') return false;
  }
  return true;
}
// True when the comma-separated header value contains `token` (case-insensitive).
bool header_has_token(std::string_view value, std::string_view token);

}  // namespace portier::proxy
