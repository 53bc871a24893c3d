// libFuzzer target: HTTP/1.1 request heads from clients, then the body framing they announce.
// Input: the bytes a client sends. Checks: no crash; the fast header-field parser and its
// line-by-line reference agree; a complete head is consistent (head_size within the input,
// views inside the buffer); the body that follows is walked by BodyFraming the way the
// session does, fed in pieces, and ends at the same place whatever the piece size.
// Build and run: tests/fuzz/run.sh (all targets) or tests/fuzz/CMakeLists.txt's fuzz_* targets.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "proxy/http1_parser.hpp"
#include "tests/fuzz/http1_fuzz_util.hpp"

using namespace portier::proxy;
using portier::proxy::fuzz::inside;
using portier::proxy::fuzz::walk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_request_line = 2048;
  limits.max_header_bytes = 8192;
  limits.max_headers = 32;

  RequestHead head;
  ParseOutcome r = parse_request_head(buf, limits, head);
  if (r.status == ParseStatus::error) {
    if (r.http_status < 400 || r.http_status > 599) std::abort();
    return 0;
  }
  if (r.status == ParseStatus::need_more) return 0;

  if (head.head_size == 0 || head.head_size > buf.size()) std::abort();
  std::string_view head_text = buf.substr(0, head.head_size);
  // Views point into the head (path and target may be the constants "/" and "*" the parser
  // substitutes for absolute-form and asterisk-form targets).
  for (auto v : {head.method, head.query, head.host, head.connection})
    if (!inside(v, head_text)) std::abort();
  for (auto v : {head.target, head.path})
    if (!inside(v, head_text) && v != "/" && v != "*") std::abort();
  for (const auto& h : head.headers)
    if (!inside(h.name, head_text) || !inside(h.value, head_text)) std::abort();

  // The fast header-field parser and its reference agree on the fields of an accepted head.
  size_t start = 0;  // empty lines before the request line are skipped (RFC 9112 2.2)
  while (head_text.substr(start, 2) == "\r\n") start += 2;
  size_t line_end = head_text.find("\r\n", start);
  if (line_end == std::string_view::npos) std::abort();
  std::string_view block = head_text.substr(line_end + 2, head_text.size() - line_end - 4);
  std::vector<HeaderField> fast, checked;
  ParseOutcome a = parse_header_fields(block, limits, fast);
  ParseOutcome b = parse_header_fields_checked(block, limits, checked);
  if (a.status != b.status || a.status != ParseStatus::complete || fast.size() != checked.size()) std::abort();
  for (size_t i = 0; i < fast.size(); ++i)
    if (fast[i].name != checked[i].name || fast[i].value != checked[i].value) std::abort();

  if (head.body == BodyKind::length && head.content_length > buf.size()) head.content_length = buf.size();
  std::string_view body = buf.substr(head.head_size);
  size_t whole = walk(head.body, head.content_length, body, body.size() + 1);
  for (size_t step : {1, 3, 7}) {
    // A streaming parser decides the same whatever the segmentation.
    if (walk(head.body, head.content_length, body, step) != whole) std::abort();
  }
  return 0;
}
