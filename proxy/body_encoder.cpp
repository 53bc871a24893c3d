#include "proxy/body_encoder.hpp"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>

namespace portier::proxy {
namespace {

// Output room asked of the buffer per codec step.
constexpr size_t kStep = 16384;

// Levels: zlib's and zstd's defaults; brotli at 5, the usual choice for on-the-fly
// compression (its default, 11, is meant for static files).
constexpr int kGzipLevel = Z_DEFAULT_COMPRESSION;
constexpr int kBrotliQuality = 5;
constexpr int kZstdLevel = ZSTD_CLEVEL_DEFAULT;

class GzipEncoder : public BodyEncoder {
 public:
  GzipEncoder() {
    ok_ = deflateInit2(&z_, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipEncoder() override {
    if (ok_) deflateEnd(&z_);
  }
  bool ok() const { return ok_; }
  bool encode(std::string_view in, bool last, IoBuffer& out) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      auto room = out.prepare(kStep);
      z_.next_out = static_cast<Bytef*>(room.data());
      z_.avail_out = static_cast<uInt>(room.size());
      int rc = deflate(&z_, flush);
      out.commit(room.size() - z_.avail_out);
      if (rc == Z_STREAM_END) return true;
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      // Done with this call once the input is in and the flush left room to spare.
      if (z_.avail_in == 0 && z_.avail_out > 0 && !last) return true;
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

class BrotliEncoder : public BodyEncoder {
 public:
  BrotliEncoder() : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (s_) BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY, kBrotliQuality);
  }
  ~BrotliEncoder() override { BrotliEncoderDestroyInstance(s_); }
  bool ok() const { return s_ != nullptr; }
  bool encode(std::string_view in, bool last, IoBuffer& out) override {
    auto op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
    size_t avail_in = in.size();
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      auto room = out.prepare(kStep);
      size_t avail_out = room.size();
      auto next_out = static_cast<uint8_t*>(room.data());
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr))
        return false;
      out.commit(room.size() - avail_out);
      bool pending = BrotliEncoderHasMoreOutput(s_);
      if (last ? BrotliEncoderIsFinished(s_) : (avail_in == 0 && !pending)) return true;
    }
  }

 private:
  BrotliEncoderState* s_;
};

class ZstdEncoder : public BodyEncoder {
 public:
  ZstdEncoder() : c_(ZSTD_createCCtx()) {
    if (c_) ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, kZstdLevel);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(c_); }
  bool ok() const { return c_ != nullptr; }
  bool encode(std::string_view in, bool last, IoBuffer& out) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    auto mode = last ? ZSTD_e_end : ZSTD_e_flush;
    for (;;) {
      auto room = out.prepare(kStep);
      ZSTD_outBuffer output{room.data(), room.size(), 0};
      size_t left = ZSTD_compressStream2(c_, &output, &input, mode);
      if (ZSTD_isError(left)) return false;
      out.commit(output.pos);
      if (left == 0 && input.pos == input.size) return true;
    }
  }

 private:
  ZSTD_CCtx* c_;
};

template <class E>
std::unique_ptr<BodyEncoder> started() {
  auto e = std::make_unique<E>();
  if (!e->ok()) return nullptr;
  return e;
}

}  // namespace

std::unique_ptr<BodyEncoder> make_body_encoder(std::string_view coding) {
  if (coding == "gzip") return started<GzipEncoder>();
  if (coding == "br") return started<BrotliEncoder>();
  if (coding == "zstd") return started<ZstdEncoder>();
  return nullptr;
}

}  // namespace portier::proxy
