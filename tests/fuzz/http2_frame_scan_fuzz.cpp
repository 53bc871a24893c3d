// libFuzzer target: Http2FrameScan, the walk over a client's HTTP/2 byte stream (preface,
// frame headers, PRIORITY payloads) that runs beside nghttp2.
// Input: first byte = segment size (1..256), the rest is what the client sends.
// Checks: no crash; every step covers at least one byte and no more than it was given; the
// same frame headers, at the same offsets, and the same error whatever the segmentation.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "proxy/http2_frame_scan.hpp"

using portier::proxy::Http2FrameScan;

namespace {

struct Seen {
  std::vector<uint64_t> headers;  // (offset after the header) << 8 | type, per frame header
  uint32_t error = 0;
  size_t error_at = 0;
  bool operator==(const Seen&) const = default;
};

Seen walk(std::string_view in, size_t segment) {
  Http2FrameScan scan;
  Seen seen;
  size_t at = 0;
  for (size_t start = 0; start < in.size(); start += segment) {
    std::string_view piece = in.substr(start, segment);
    while (!piece.empty()) {
      auto step = scan.next(piece);
      if (step.bytes == 0 || step.bytes > piece.size()) std::abort();
      at += step.bytes;
      piece.remove_prefix(step.bytes);
      if (step.header) seen.headers.push_back((uint64_t{at} << 8) | scan.frame().type);
      if (step.error != 0) {
        seen.error = step.error;
        seen.error_at = at;
        return seen;
      }
    }
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t segment = size_t{data[0]} + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  Seen whole = walk(in, in.size() + 1);
  if (!(walk(in, segment) == whole) || !(walk(in, 1) == whole)) std::abort();
  return 0;
}
