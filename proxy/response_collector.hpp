#pragma once
// ResponseCollector: reads an upstream response body whole before anything is sent to the
// client (buffering.maxResponseBodyBytes on a chunked or close-delimited response, whose size
// is unknown up front). The decoded payload goes into a BufferedBody (memory up to
// memResponseBodyBytes, an unlinked temp file beyond), so the response can be re-framed with a
// Content-Length, or refused with 500 (as Traefik) when it grows past the limit. No I/O: the
// session feeds the bytes it reads from the upstream. Worker thread, one per exchange.
#include <cstdint>
#include <string_view>

#include "proxy/buffered_body.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/http2_chunked_decoder.hpp"

namespace portier::proxy {

class ResponseCollector {
 public:
  ResponseCollector(BodyKind kind, uint64_t content_length, int64_t max_bytes, int64_t memory_bytes)
      : kind_(kind), remaining_(content_length), max_(max_bytes), memory_(memory_bytes) {}

  enum class Step { more, done, too_large, error };
  // Takes upstream bytes; *used is how many belong to the body (the rest is not this body's).
  Step feed(std::string_view in, size_t* used);
  // The upstream closed the connection: the end of an until_close body, else truncation.
  Step at_eof() const { return kind_ == BodyKind::until_close ? Step::done : Step::error; }

  BufferedBody& body() { return body_; }
  // The payload is read through and dropped, not kept (a response nobody reads).
  void discard() { discard_ = true; }

 private:
  Step add(std::string_view payload);

  BodyKind kind_;
  uint64_t remaining_;
  int64_t max_;
  int64_t memory_;
  ChunkedDecoder decoder_;
  IoBuffer decoded_;
  BufferedBody body_;
  bool discard_ = false;
};

}  // namespace portier::proxy
