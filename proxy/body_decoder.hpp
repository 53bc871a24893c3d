#pragma once
// The payload of an HTTP/1.1 message body as it streams in, whatever its framing (a length,
// chunked, until the connection closes): what an HTTP/2 stream carries and what a response
// body filter (compress) is fed. Strictness is ChunkedDecoder's.
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1_parser.hpp"
#include "proxy/http2_chunked_decoder.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class BodyDecoder {
 public:
  BodyDecoder(BodyKind kind, uint64_t content_length) : kind_(kind), remaining_(content_length) {}
  enum class Result { more, done, error };
  // Consumes up to in.size() bytes, appending payload to `out`; *used is how many bytes of
  // `in` belong to the body. An until_close body is never done here (the peer's EOF ends it).
  Result feed(std::string_view in, size_t* used, IoBuffer& out);
  // Payload bytes produced so far.
  uint64_t decoded() const { return decoded_; }
  // A chunked body's trailer section, complete once done ("name: value\r\n" lines).
  const std::string& trailers() const { return chunked_.trailers(); }

 private:
  BodyKind kind_;
  uint64_t remaining_;
  uint64_t decoded_ = 0;
  ChunkedDecoder chunked_;
};

}  // namespace portier::proxy
