#include "proxy/http2_chunked_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace portier::proxy {
namespace {

constexpr size_t kMaxTrailerBytes = kMaxTrailerSection;  // the HTTP/1.1 scanner's bound

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append(IoBuffer& out, const char* data, size_t n) {
  auto space = out.prepare(n);
  std::memcpy(space.data(), data, n);
  out.commit(n);
}

}  // namespace

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view in, size_t* used, IoBuffer& out) {
  size_t i = 0;
  auto fail = [&] {
    *used = i;
    return Result::error;
  };
  while (i < in.size()) {
    char c = in[i];
    switch (state_) {
      case State::size: {
        int v = hex_value(c);
        if (v >= 0) {
          if (++size_digits_ > 15) return fail();  // as ChunkedScanner
          remaining_ = (remaining_ << 4) | static_cast<uint64_t>(v);
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail();
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::ext;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else {
          return fail();
        }
        ++i;
        break;
      }
      case State::ext:
        if (c == '\r')
          state_ = State::size_lf;
        else if (c == '\n' || c == '\0')  // as ChunkedScanner: both walkers accept the same bodies
          return fail();
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') return fail();
        ++i;
        size_digits_ = 0;
        state_ = remaining_ == 0 ? State::trailer_start : State::data;
        break;
      case State::data: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
        append(out, in.data() + i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c != '\r') return fail();
        ++i;
        state_ = State::data_lf;
        break;
      case State::data_lf:
        if (c != '\n') return fail();
        ++i;
        state_ = State::size;
        break;
      case State::trailer_start:
        ++i;
        if (c == '\r') {
          state_ = State::final_lf;
        } else if (c == '\n') {
          return fail();
        } else {
          if (++trailer_bytes_ > kMaxTrailerBytes || !trailer_line_.accept(c)) return fail();
          trailers_ += c;
          state_ = State::trailer;
        }
        break;
      case State::trailer:
        ++i;
        if (++trailer_bytes_ > kMaxTrailerBytes || !trailer_line_.accept(c)) return fail();
        trailers_ += c;
        if (c == '\r') state_ = State::trailer_lf;
        break;
      case State::trailer_lf:
        if (c != '\n') return fail();
        trailers_ += c;
        ++i;
        state_ = State::trailer_start;
        break;
      case State::final_lf:
        if (c != '\n') return fail();
        ++i;
        state_ = State::done;
        *used = i;
        return Result::done;
      case State::done:
        *used = i;
        return Result::done;
    }
  }
  *used = i;
  return state_ == State::done ? Result::done : Result::more;
}

}  // namespace portier::proxy
