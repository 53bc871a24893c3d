#include "proxy/http2_frame_scan.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>

namespace portier::proxy {

Http2FrameScan::Step Http2FrameScan::next(std::string_view data) {
  if (failed_) return {data.size(), false, 0};
  size_t i = 0;
  while (i < data.size()) {
    if (preface_left_ > 0) {
      size_t skip = std::min(preface_left_, data.size() - i);
      preface_left_ -= skip;
      i += skip;
      continue;
    }
    if (payload_left_ == 0) {
      header_[header_len_++] = static_cast<unsigned char>(data[i++]);
      if (header_len_ < kHeaderSize) continue;
      header_len_ = 0;
      frame_.length = (uint32_t{header_[0]} << 16) | (uint32_t{header_[1]} << 8) | header_[2];
      frame_.type = header_[3];
      frame_.flags = header_[4];
      frame_.stream =
          static_cast<int32_t>(((uint32_t{header_[5]} << 24) | (uint32_t{header_[6]} << 16) |
                                (uint32_t{header_[7]} << 8) | header_[8]) &
                               0x7fffffffu);
      payload_left_ = frame_.length;
      dependency_ = 0;
      dependency_len_ = 0;
      bool stream_zero_priority = frame_.type == NGHTTP2_PRIORITY && frame_.stream == 0;
      failed_ = stream_zero_priority;
      return {i, true, stream_zero_priority ? uint32_t{NGHTTP2_PROTOCOL_ERROR} : 0};
    }
    // Payload: a PRIORITY frame's first 4 bytes are E + the stream it depends on.
    if (frame_.type == NGHTTP2_PRIORITY && dependency_len_ < 4) {
      dependency_ = (dependency_ << 8) | static_cast<unsigned char>(data[i++]);
      --payload_left_;
      if (++dependency_len_ == 4 &&
          static_cast<int32_t>(dependency_ & 0x7fffffffu) == frame_.stream) {
        failed_ = true;
        return {i, false, NGHTTP2_PROTOCOL_ERROR};
      }
      continue;
    }
    size_t skip = std::min<size_t>(payload_left_, data.size() - i);
    payload_left_ -= static_cast<uint32_t>(skip);
    i += skip;
  }
  return {data.size(), false, 0};
}

}  // namespace portier::proxy
