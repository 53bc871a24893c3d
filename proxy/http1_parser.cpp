#include "proxy/http1_parser.hpp"

#include <array>

namespace portier::proxy {
namespace {

// RFC 9110 tchar, as a table (checked for every character of every header name).
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

inline bool is_tchar(unsigned char c) { return kTchar[c]; }

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

ParseOutcome fail(int status, const char* reason) {
  return ParseOutcome{ParseStatus::error, status, reason};
}

// Finds the end of the head ("\r\n\r\n"); returns its size or 0 when incomplete.
size_t head_end(std::string_view buf) {
  size_t pos = buf.find("\r\n\r\n");
  return pos == std::string_view::npos ? 0 : pos + 4;
}

bool parse_decimal(std::string_view v, uint64_t& out) {
  if (v.empty() || v.size() > 18) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  out = n;
  return true;
}

struct Framing {
  bool has_cl = false, has_te = false, chunked = false;
  uint64_t cl = 0;
  std::string_view connection;
  bool upgrade_header = false;
  bool expect_continue = false;
  bool bad_expect = false;
  int host_count = 0;
  std::string_view host;
};

ParseOutcome scan_framing(const std::vector<HeaderField>& headers, Framing& f) {
  for (const auto& h : headers) {
    if (iequals(h.name, "content-length")) {
      if (f.has_cl) return fail(400, "duplicate Content-Length");
      if (!parse_decimal(h.value, f.cl)) return fail(400, "invalid Content-Length");
      f.has_cl = true;
    } else if (iequals(h.name, "transfer-encoding")) {
      if (f.has_te) return fail(400, "duplicate Transfer-Encoding");
      f.has_te = true;
      if (!iequals(h.value, "chunked")) return fail(400, "unsupported Transfer-Encoding");
      f.chunked = true;
    } else if (iequals(h.name, "connection")) {
      f.connection = h.value;
    } else if (iequals(h.name, "upgrade")) {
      f.upgrade_header = true;
    } else if (iequals(h.name, "host")) {
      ++f.host_count;
      f.host = h.value;
    } else if (iequals(h.name, "expect")) {
      if (iequals(h.value, "100-continue")) f.expect_continue = true;
    }
  }
  if (f.has_cl && f.has_te) return fail(400, "both Content-Length and Transfer-Encoding");
  return ParseOutcome{ParseStatus::complete, 0, ""};
}

bool parse_version(std::string_view v, int& minor) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1.") return false;
  if (v[7] != '0' && v[7] != '1') return false;
  minor = v[7] - '0';
  return true;
}

// Characters that end a field value's scan: CR (end of line when LF follows), and the
// bare LF and NUL that are errors.
constexpr std::array<bool, 256> kValueStop = [] {
  std::array<bool, 256> t{};
  t['\r'] = t['\n'] = t[0] = true;
  return t;
}();

}  // namespace

// The reference field parser, one line at a time with a message per check; appends to
// `headers`. parse_header_fields hands over to it at the first line its fast loop does not
// accept as-is, so both give the same fields and the same errors.
ParseOutcome parse_header_fields_checked(std::string_view block, const HttpLimits& limits,
                                         std::vector<HeaderField>& headers) {
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    if (eol == std::string_view::npos) return fail(400, "unterminated header line");
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return fail(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header line");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_tchar(static_cast<unsigned char>(c))) return fail(400, "invalid header name");
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0') return fail(400, "invalid header value");
    if (headers.size() >= limits.max_headers) return fail(431, "too many headers");
    headers.push_back({name, value});
  }
  return ParseOutcome{ParseStatus::complete, 0, ""};
}

// Header lines between the start line and the blank line. Fills `headers`, enforces token
// names, no whitespace before ':', no obs-fold, no bare CR/LF, and the count limit. One pass
// per line over well-formed fields; anything else is parse_header_fields_checked's to judge.
ParseOutcome parse_header_fields(std::string_view block, const HttpLimits& limits,
                                 std::vector<HeaderField>& headers) {
  headers.clear();
  // Browsers send 10-20 fields: one allocation instead of a doubling series per message.
  if (headers.capacity() == 0) headers.reserve(24);
  auto at = [](const char* c) { return static_cast<unsigned char>(*c); };
  const char* p = block.data();
  const char* const end = p + block.size();
  while (p != end) {
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') return ParseOutcome{ParseStatus::complete, 0, ""};
    const char* colon = p;
    while (colon != end && kTchar[at(colon)]) ++colon;
    if (colon == p || colon == end || *colon != ':') break;
    const char* value = colon + 1;
    while (value != end && (*value == ' ' || *value == '\t')) ++value;
    const char* eol = value;
    while (eol != end && !kValueStop[at(eol)]) ++eol;
    if (end - eol < 2 || eol[0] != '\r' || eol[1] != '\n') break;
    const char* value_end = eol;
    while (value_end != value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    if (headers.size() >= limits.max_headers) break;
    headers.push_back({std::string_view(p, static_cast<size_t>(colon - p)),
                       std::string_view(value, static_cast<size_t>(value_end - value))});
    p = eol + 2;
  }
  return parse_header_fields_checked(block.substr(static_cast<size_t>(p - block.data())), limits, headers);
}

bool header_has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim_ows(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

ParseOutcome parse_request_head(std::string_view buf, const HttpLimits& limits, RequestHead& out) {
  // Tolerate (RFC 9112 2.2) empty lines before the request line.
  size_t lead = 0;
  while (lead + 1 < buf.size() && buf[lead] == '\r' && buf[lead + 1] == '\n') lead += 2;
  std::string_view view = buf.substr(lead);
  size_t line_end = view.find("\r\n");
  if (line_end == std::string_view::npos) {
    if (view.size() > limits.max_request_line) return fail(414, "request line too long");
    if (view.find('\n') != std::string_view::npos) return fail(400, "bare LF in request line");
    return ParseOutcome{};
  }
  if (line_end > limits.max_request_line) return fail(414, "request line too long");
  size_t end = head_end(view);
  if (end == 0) {
    if (view.size() > limits.max_header_bytes) return fail(431, "request header too large");
    return ParseOutcome{};
  }
  if (end > limits.max_header_bytes) return fail(431, "request header too large");

  std::string_view line = view.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return fail(400, "malformed request line");
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (out.method.empty() || out.target.empty()) return fail(400, "malformed request line");
  for (char c : out.method)
    if (!is_tchar(static_cast<unsigned char>(c))) return fail(400, "invalid method");
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return fail(400, "invalid request target");
  if (!parse_version(line.substr(sp2 + 1), out.version_minor)) return fail(400, "unsupported HTTP version");

  ParseOutcome fields = parse_header_fields(view.substr(line_end + 2, end - line_end - 2), limits, out.headers);
  if (fields.status == ParseStatus::error) return fields;
  Framing f;
  ParseOutcome framing = scan_framing(out.headers, f);
  if (framing.status == ParseStatus::error) return framing;
  if (out.version_minor == 0 && f.has_te) return fail(400, "Transfer-Encoding in HTTP/1.0");
  if (f.host_count > 1) return fail(400, "duplicate Host header");

  // Request target forms: origin ("/p?q"), absolute ("http://h/p"), asterisk ("*" for OPTIONS),
  // authority (CONNECT, refused here: portier is not a forward proxy).
  std::string_view target = out.target;
  out.host = f.host;
  if (target.front() != '/') {
    size_t scheme_end = target.find("://");
    if (target == "*" && out.method == "OPTIONS") {
      target = "*";
    } else if (scheme_end != std::string_view::npos) {
      std::string_view rest = target.substr(scheme_end + 3);
      size_t slash = rest.find_first_of("/?");
      out.host = rest.substr(0, slash);
      target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    } else {
      return fail(400, "invalid request target");
    }
  }
  if (out.version_minor == 1 && f.host_count == 0 && out.host.empty()) return fail(400, "missing Host header");
  size_t q = target.find('?');
  out.path = target.substr(0, q);
  out.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (out.path.empty()) out.path = "/";

  out.head_size = lead + end;
  out.connection = f.connection;
  out.keep_alive = out.version_minor == 1 ? !header_has_token(f.connection, "close")
                                          : header_has_token(f.connection, "keep-alive");
  out.upgrade = f.upgrade_header && header_has_token(f.connection, "upgrade");
  out.expect_continue = f.expect_continue && out.version_minor == 1;
  out.content_length = f.cl;
  out.body = f.chunked ? BodyKind::chunked : (f.has_cl && f.cl > 0 ? BodyKind::length : BodyKind::none);
  return ParseOutcome{ParseStatus::complete, 0, ""};
}

ParseOutcome parse_response_head(std::string_view buf, const HttpLimits& limits,
                                 bool head_request, ResponseHead& out) {
  size_t end = head_end(buf);
  if (end == 0) {
    if (buf.size() > limits.max_header_bytes) return fail(502, "response header too large");
    return ParseOutcome{};
  }
  if (end > limits.max_header_bytes) return fail(502, "response header too large");
  size_t line_end = buf.find("\r\n");
  std::string_view line = buf.substr(0, line_end);
  if (line.size() < 12 || !parse_version(line.substr(0, 8), out.version_minor) || line[8] != ' ')
    return fail(502, "malformed status line");
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return fail(502, "malformed status code");
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || (line.size() > 12 && line[12] != ' ')) return fail(502, "malformed status line");
  out.status = status;
  out.reason = line.size() > 13 ? line.substr(13) : std::string_view();
  ParseOutcome fields = parse_header_fields(buf.substr(line_end + 2, end - line_end - 2), limits, out.headers);
  if (fields.status == ParseStatus::error) return fail(502, fields.reason);
  Framing f;
  ParseOutcome framing = scan_framing(out.headers, f);
  if (framing.status == ParseStatus::error) return fail(502, framing.reason);
  out.head_size = end;
  out.connection = f.connection;
  out.keep_alive = out.version_minor == 1 ? !header_has_token(f.connection, "close")
                                          : header_has_token(f.connection, "keep-alive");
  out.content_length = f.cl;
  if (head_request || status < 200 || status == 204 || status == 304) {
    out.body = BodyKind::none;
  } else if (f.chunked) {
    out.body = BodyKind::chunked;
  } else if (f.has_cl) {
    out.body = f.cl > 0 ? BodyKind::length : BodyKind::none;
  } else {
    out.body = BodyKind::until_close;
    out.keep_alive = false;
  }
  return ParseOutcome{ParseStatus::complete, 0, ""};
}

ChunkedScanner::Result ChunkedScanner::feed(std::string_view data, size_t* used) {
  size_t i = 0;
  constexpr size_t kMaxTrailer = 16384;
  while (i < data.size()) {
    char c = data[i];
    switch (state_) {
      case State::size: {
        int v = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (v >= 0) {
          if (++size_digits_ > 15) { *used = i; return Result::error; }
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(v);
          ++i;
        } else if (size_digits_ == 0) {
          *used = i;
          return Result::error;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;
          ++i;
        } else if (c == '\r') {
          state_ = State::size_lf;
          ++i;
        } else {
          *used = i;
          return Result::error;
        }
        break;
      }
      case State::ext:
        if (c == '\r') state_ = State::size_lf;
        else if (c == '\n' || c == '\0') { *used = i; return Result::error; }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') { *used = i; return Result::error; }
        ++i;
        size_digits_ = 0;
        state_ = remaining_ == 0 ? State::trailer_start : State::data;
        break;
      case State::data: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
        i += take;
        remaining_ -= take;
        body_bytes_ += take;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c != '\r') { *used = i; return Result::error; }
        ++i;
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (c != '\n') { *used = i; return Result::error; }
        ++i;
        state_ = State::size;
        break;
      case State::trailer_start:
        if (c == '\r') { state_ = State::final_lf; ++i; break; }
        state_ = State::trailer_name;
        [[fallthrough]];
      case State::trailer_name:
        // A name of at least one tchar, then ':' (no whitespace before it).
        if (++trailer_bytes_ > kMaxTrailer) { *used = i; return Result::error; }
        if (c == ':' && trailer_name_bytes_ > 0) {
          state_ = State::trailer_value;
        } else if (is_tchar(static_cast<unsigned char>(c))) {
          ++trailer_name_bytes_;
        } else {
          *used = i;
          return Result::error;
        }
        ++i;
        break;
      case State::trailer_value: {
        // VCHAR, obs-text, SP, HTAB; CR ends the line.
        auto u = static_cast<unsigned char>(c);
        if (++trailer_bytes_ > kMaxTrailer || (u < 0x20 && c != '\t' && c != '\r') || u == 0x7f) {
          *used = i;
          return Result::error;
        }
        if (c == '\r') {
          state_ = State::trailer_lf;
          trailer_name_bytes_ = 0;
        }
        ++i;
        break;
      }
      case State::trailer_lf:
        if (c != '\n') { *used = i; return Result::error; }
        ++i;
        state_ = State::trailer_start;
        break;
      case State::final_lf:
        if (c != '\n') { *used = i; return Result::error; }
        *used = i + 1;
        state_ = State::size;
        remaining_ = 0;
        trailer_bytes_ = 0;
        return Result::done;
    }
  }
  *used = i;
  return Result::more;
}

bool TrailerLine::accept(char c) {
  if (!in_value) {
    if (c == ':' && name_bytes > 0) return in_value = true;
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
    ++name_bytes;
    return true;
  }
  auto u = static_cast<unsigned char>(c);
  if ((u < 0x20 && c != '\t' && c != '\r') || u == 0x7f) return false;
  if (c == '\r') *this = TrailerLine{};
  return true;
}

BodyFraming::Step BodyFraming::feed(std::string_view avail, size_t* take) {
  switch (kind_) {
    case BodyKind::none:
      *take = 0;
      return Step::done;
    case BodyKind::length:
      *take = static_cast<size_t>(std::min<uint64_t>(remaining_, avail.size()));
      remaining_ -= *take;
      seen_ += *take;
      return remaining_ == 0 ? Step::done : Step::more;
    case BodyKind::chunked: {
      auto r = scanner_.feed(avail, take);
      if (r == ChunkedScanner::Result::error) return Step::error;
      return r == ChunkedScanner::Result::done ? Step::done : Step::more;
    }
    case BodyKind::until_close:
      *take = avail.size();
      seen_ += *take;
      return Step::more;
  }
  return Step::error;
}

}  // namespace portier::proxy
