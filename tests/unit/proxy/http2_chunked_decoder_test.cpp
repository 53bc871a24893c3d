#include "proxy/http2_chunked_decoder.hpp"

#include "proxy/http1_parser.hpp"

#include <catch2/catch.hpp>

using portier::proxy::ChunkedDecoder;
using portier::proxy::IoBuffer;

namespace {

// Feeds `in` in pieces of `step` bytes; returns the result and the payload.
std::pair<ChunkedDecoder::Result, std::string> decode(std::string_view in, size_t step,
                                                      size_t* used_total = nullptr) {
  ChunkedDecoder d;
  IoBuffer out;
  size_t pos = 0;
  auto r = ChunkedDecoder::Result::more;
  while (pos < in.size()) {
    size_t used = 0;
    r = d.feed(in.substr(pos, std::min(step, in.size() - pos)), &used, out);
    pos += used;
    if (r != ChunkedDecoder::Result::more) break;
  }
  if (used_total) *used_total = pos;
  return {r, std::string(out.readable())};
}

}  // namespace

TEST_CASE("ChunkedDecoder decodes payload in any split", "[http2]") {
  std::string body =
      "5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t step : {1, 2, 3, 7, 100}) {
    size_t used = 0;
    auto [r, payload] = decode(body, step, &used);
    INFO("step " << step);
    CHECK(r == ChunkedDecoder::Result::done);
    CHECK(payload == "hello, world0123456789");
    CHECK(body.substr(used) == "NEXT");
  }
}

TEST_CASE("ChunkedDecoder rejects bad framing", "[http2]") {
  for (std::string bad : {"x\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n",
                          "11111111111111111\r\n", "\r\n", "0\r\nbad\ntrailer\r\n\r\n"}) {
    INFO(bad);
    CHECK(decode(bad, 1).first == ChunkedDecoder::Result::error);
  }
  CHECK(decode("5\r\nhel", 100).first == ChunkedDecoder::Result::more);
}

TEST_CASE("ChunkedDecoder keeps the trailer section, whatever the split", "[http2]") {
  std::string body = "3\r\nabc\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\nNEXT";
  for (size_t step : {1, 2, 5, 100}) {
    INFO("step " << step);
    ChunkedDecoder d;
    IoBuffer out;
    size_t pos = 0, used = 0;
    auto r = ChunkedDecoder::Result::more;
    while (pos < body.size() && r == ChunkedDecoder::Result::more) {
      r = d.feed(std::string_view(body).substr(pos, step), &used, out);
      pos += used;
    }
    CHECK(r == ChunkedDecoder::Result::done);
    CHECK(d.trailers() == "grpc-status: 0\r\ngrpc-message: ok\r\n");
  }
  ChunkedDecoder none;
  IoBuffer out;
  size_t used = 0;
  CHECK(none.feed("0\r\n\r\n", &used, out) == ChunkedDecoder::Result::done);
  CHECK(none.trailers().empty());
}

// Found by tests/fuzz/chunked_fuzz: "A\r\n0123456789\r\n0;l\0..." was refused by ChunkedScanner
// (HTTP/1.1 path) but accepted by the decoder (HTTP/2 path): a NUL in a chunk extension.
TEST_CASE("ChunkedDecoder refuses a NUL in a chunk extension, like ChunkedScanner", "[http2][fuzz]") {
  using namespace std::string_view_literals;
  const auto body = "A\r\n0123456789\r\n0;l\0x\r\n\r\n"sv;
  for (size_t step : {body.size(), size_t{1}}) {
    CHECK(decode(body, step).first == ChunkedDecoder::Result::error);
  }
  portier::proxy::ChunkedScanner scanner;
  size_t used = 0;
  CHECK(scanner.feed(body, &used) == portier::proxy::ChunkedScanner::Result::error);
  CHECK(decode("A\r\n0123456789\r\n0;l=x\r\n\r\n"sv, 1).first == ChunkedDecoder::Result::done);
}

// Found by tests/fuzz/chunked_fuzz: a 16-digit chunk size ("1012345789abcdef") was accepted by
// the decoder but refused by ChunkedScanner (at most 15 digits); both now refuse it.
TEST_CASE("ChunkedDecoder refuses chunk sizes of 16 hex digits, like ChunkedScanner", "[http2][fuzz]") {
  using namespace std::string_view_literals;
  const auto body = "1012345789abcdef\r\n0\r\n\r\n"sv;
  CHECK(decode(body, 1).first == ChunkedDecoder::Result::error);
  portier::proxy::ChunkedScanner scanner;
  size_t used = 0;
  CHECK(scanner.feed(body, &used) == portier::proxy::ChunkedScanner::Result::error);
  // 15 digits with leading zeros are still a size.
  CHECK(decode("000000000000005\r\nhello\r\n0\r\n\r\n"sv, 1) ==
        std::pair{ChunkedDecoder::Result::done, std::string("hello")});
}
