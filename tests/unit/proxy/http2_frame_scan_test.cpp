#include "proxy/http2_frame_scan.hpp"

#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace portier::proxy;

namespace {

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

std::string frame(uint8_t type, uint32_t stream, const std::string& payload) {
  std::string f;
  f += static_cast<char>(payload.size() >> 16);
  f += static_cast<char>(payload.size() >> 8);
  f += static_cast<char>(payload.size());
  f += static_cast<char>(type);
  f += '\0';
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(stream >> shift);
  return f + payload;
}

std::string priority(uint32_t stream, uint32_t depends_on) {
  std::string p;
  for (int shift = 24; shift >= 0; shift -= 8) p += static_cast<char>(depends_on >> shift);
  return frame(NGHTTP2_PRIORITY, stream, p + '\x0f');
}

struct Walk {
  std::vector<std::pair<int, int32_t>> frames;  // type, stream
  std::vector<size_t> header_ends;
  uint32_t error = 0;
  size_t error_at = 0;
};

// Feeds `in` in pieces of `segment` bytes.
Walk walk(const std::string& in, size_t segment) {
  Http2FrameScan scan;
  Walk w;
  size_t at = 0;
  for (size_t start = 0; start < in.size(); start += segment) {
    std::string_view piece = std::string_view(in).substr(start, segment);
    while (!piece.empty()) {
      auto step = scan.next(piece);
      REQUIRE(step.bytes > 0);
      at += step.bytes;
      piece.remove_prefix(step.bytes);
      if (step.header) {
        w.frames.emplace_back(scan.frame().type, scan.frame().stream);
        w.header_ends.push_back(at);
      }
      if (step.error) {
        w.error = step.error;
        w.error_at = at;
        return w;
      }
    }
  }
  return w;
}

}  // namespace

TEST_CASE("http2 frame scan: reports each frame header where it ends") {
  std::string settings = frame(NGHTTP2_SETTINGS, 0, "");
  std::string data = frame(NGHTTP2_DATA, 1, std::string(300, 'x'));
  std::string in = kPreface + settings + priority(3, 1) + data + priority(5, 0);
  for (size_t segment : {in.size(), size_t{1}, size_t{7}}) {
    INFO(segment);
    Walk w = walk(in, segment);
    CHECK(w.error == 0);
    CHECK(w.frames == std::vector<std::pair<int, int32_t>>{{NGHTTP2_SETTINGS, 0},
                                                           {NGHTTP2_PRIORITY, 3},
                                                           {NGHTTP2_DATA, 1},
                                                           {NGHTTP2_PRIORITY, 5}});
    size_t data_header_end = kPreface.size() + settings.size() + 14 + 9;
    CHECK(w.header_ends[2] == data_header_end);
  }
}

TEST_CASE("http2 frame scan: PRIORITY on stream 0 or depending on itself is PROTOCOL_ERROR") {
  std::string head = kPreface + frame(NGHTTP2_SETTINGS, 0, "");
  std::string zero = head + priority(0, 1) + "trailing";
  std::string self = head + priority(7, 7) + "trailing";
  for (size_t segment : {size_t{1000}, size_t{1}, size_t{5}}) {
    INFO(segment);
    Walk z = walk(zero, segment);
    CHECK(z.error == NGHTTP2_PROTOCOL_ERROR);
    CHECK(z.error_at == head.size() + 9);
    Walk s = walk(self, segment);
    CHECK(s.error == NGHTTP2_PROTOCOL_ERROR);
    CHECK(s.error_at == head.size() + 13);  // the dependency's last byte
  }
}
