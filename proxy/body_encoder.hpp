#pragma once
// Streaming content codings for the compress middleware, on the Debian libraries (zlib,
// libbrotli, libzstd). One encoder per response; each encode() call ends with a flush, so what
// the upstream sent so far reaches the client now (a streamed response keeps streaming), and
// the memory held is the codec's window, never the body.
#include <memory>
#include <string_view>

#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class BodyEncoder {
 public:
  virtual ~BodyEncoder() = default;
  // Appends the coding of `in` to `out`; `last` finishes the stream. False on a codec error.
  virtual bool encode(std::string_view in, bool last, IoBuffer& out) = 0;
};

// "gzip", "br" or "zstd"; null for another name or when the codec cannot start.
std::unique_ptr<BodyEncoder> make_body_encoder(std::string_view coding);

}  // namespace portier::proxy
