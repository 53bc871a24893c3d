// libFuzzer target: chunked bodies (chunk sizes, extensions, trailers), through both walkers
// the proxy has: ChunkedScanner (HTTP/1.1 to HTTP/1.1, bytes forwarded unchanged) and
// ChunkedDecoder (HTTP/1.1 upstream to HTTP/2 client, payload and trailers extracted).
// Input: first byte = segment size (1..256), the rest is the body as it arrives.
// Checks: no crash; the same verdict and end offset whatever the segmentation; scanner and
// decoder agree on done/error, on where the body ends and on the payload size; the decoder's
// trailers are a part of the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http1_parser.hpp"
#include "proxy/http2_chunked_decoder.hpp"

using namespace portier::proxy;

namespace {

struct Verdict {
  int result = 0;  // 0 more, 1 done, 2 error
  size_t used = 0;
  uint64_t payload = 0;
  bool operator==(const Verdict&) const = default;
};

Verdict scan(std::string_view in, size_t step) {
  ChunkedScanner s;
  Verdict v;
  while (v.used < in.size()) {
    std::string_view piece = in.substr(v.used, step);
    size_t used = 0;
    auto r = s.feed(piece, &used);
    if (used > piece.size()) std::abort();
    v.used += used;
    v.payload = s.body_bytes();
    if (r == ChunkedScanner::Result::error) return v.result = 2, v.used = 0, v;
    if (r == ChunkedScanner::Result::done) return v.result = 1, v;
    if (used != piece.size()) std::abort();
  }
  v.payload = 0;  // unfinished: only the verdict is compared
  return v;
}

Verdict decode(std::string_view in, size_t step, std::string* trailers) {
  ChunkedDecoder d;
  IoBuffer out;
  Verdict v;
  while (v.used < in.size()) {
    std::string_view piece = in.substr(v.used, step);
    size_t used = 0;
    auto r = d.feed(piece, &used, out);
    if (used > piece.size()) std::abort();
    v.used += used;
    v.payload = out.size();
    if (r == ChunkedDecoder::Result::error) return v.result = 2, v.used = 0, v;
    if (r == ChunkedDecoder::Result::done) {
      *trailers = d.trailers();
      return v.result = 1, v;
    }
    if (used != piece.size()) std::abort();
  }
  v.payload = 0;  // unfinished: only the verdict is compared
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = size_t{data[0]} + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  Verdict whole = scan(in, in.size() + 1);
  if (!(scan(in, step) == whole) || !(scan(in, 1) == whole)) std::abort();
  std::string trailers;
  Verdict decoded = decode(in, step, &trailers);
  if (!(decoded == whole)) std::abort();
  if (whole.result == 1 && !trailers.empty() && in.substr(0, whole.used).find(trailers) == std::string_view::npos)
    std::abort();
  return 0;
}
