#pragma once
// Decodes an HTTP/1.1 chunked body into its payload as it streams through (HTTP/2 carries
// the payload without chunk framing). Strict like ChunkedScanner: CRLF only, hex sizes of at
// most 15 digits, bounded trailers (kept raw, for a trailing HEADERS frame).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1_parser.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class ChunkedDecoder {
 public:
  enum class Result { more, done, error };
  // Consumes up to in.size() bytes, appending payload to `out`; *used is how many bytes of
  // `in` belong to the body (on done, the rest belongs to the next message).
  Result feed(std::string_view in, size_t* used, IoBuffer& out);
  // The trailer section as received ("name: value\r\n" lines), complete once done.
  const std::string& trailers() const { return trailers_; }

 private:
  enum class State {
    size,
    ext,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer,
    trailer_lf,
    final_lf,
    done
  };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  int size_digits_ = 0;
  size_t trailer_bytes_ = 0;
  TrailerLine trailer_line_;
  std::string trailers_;
};

}  // namespace portier::proxy
