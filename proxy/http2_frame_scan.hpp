#pragma once
// Walks a client's HTTP/2 byte stream (the preface, then frames) alongside nghttp2, reading
// only frame headers and PRIORITY payloads, so the connection can judge a frame before nghttp2
// sees all of it. Two checks of RFC 9113 live here because nghttp2 skips them once the server
// has sent SETTINGS_NO_RFC7540_PRIORITIES (it then drops PRIORITY frames unread): PRIORITY on
// stream 0 (section 6.3) and a stream depending on itself (5.3.1) are PROTOCOL_ERROR.
// Holds one frame header at most; worker thread only.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portier::proxy {

struct Http2FrameHeader {
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream = 0;
};

class Http2FrameScan {
 public:
  struct Step {
    size_t bytes = 0;     // bytes of the input this step covers (at least 1 for non-empty input)
    bool header = false;  // a frame header ends with the last of them: frame() holds it
    uint32_t error = 0;   // a connection error (PROTOCOL_ERROR) found in them
  };
  // Scans `data` up to the end of the next frame header, the next error, or its end. After an
  // error the connection ends: later input is covered without being inspected.
  Step next(std::string_view data);
  const Http2FrameHeader& frame() const { return frame_; }

 private:
  static constexpr size_t kHeaderSize = 9;
  size_t preface_left_ = 24;
  unsigned char header_[kHeaderSize] = {};
  size_t header_len_ = 0;
  uint32_t payload_left_ = 0;
  Http2FrameHeader frame_;
  uint32_t dependency_ = 0;
  size_t dependency_len_ = 0;
  bool failed_ = false;
};

}  // namespace portier::proxy
