// libFuzzer target: HTTP/1.1 response heads from upstreams and the body framing they announce.
// Input: first byte bit 0 = the request was HEAD; the rest is what the upstream sends.
// Checks: no crash; a complete head lies within the input and its views point into it; the
// fast header-field parser agrees with its reference; BodyFraming ends the body at the same
// place whatever the segmentation.
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
  if (size == 0) return 0;
  bool head_request = data[0] & 1;
  std::string_view buf(reinterpret_cast<const char*>(data + 1), size - 1);
  HttpLimits limits;
  limits.max_header_bytes = 8192;
  limits.max_headers = 32;

  ResponseHead head;
  ParseOutcome r = parse_response_head(buf, limits, head_request, head);
  if (r.status != ParseStatus::complete) return 0;
  if (head.head_size == 0 || head.head_size > buf.size()) std::abort();
  if (head.status < 100 || head.status > 999) std::abort();
  std::string_view head_text = buf.substr(0, head.head_size);
  if (!inside(head.reason, head_text) || !inside(head.connection, head_text)) std::abort();
  for (const auto& h : head.headers)
    if (!inside(h.name, head_text) || !inside(h.value, head_text)) std::abort();
  if (head_request && head.body != BodyKind::none) std::abort();  // a HEAD answer has no body

  size_t line_end = head_text.find("\r\n");
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
  for (size_t step : {1, 2, 5})
    if (walk(head.body, head.content_length, body, step) != whole) std::abort();
  return 0;
}
