#include "proxy/body_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace portier::proxy {

BodyDecoder::Result BodyDecoder::feed(std::string_view in, size_t* used, IoBuffer& out) {
  *used = 0;
  size_t before = out.size();
  Result result = Result::more;
  switch (kind_) {
    case BodyKind::none:
      return Result::done;
    case BodyKind::length: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      if (take > 0) {
        std::memcpy(out.prepare(take).data(), in.data(), take);
        out.commit(take);
      }
      remaining_ -= take;
      *used = take;
      result = remaining_ == 0 ? Result::done : Result::more;
      break;
    }
    case BodyKind::chunked:
      switch (chunked_.feed(in, used, out)) {
        case ChunkedDecoder::Result::error:
          return Result::error;
        case ChunkedDecoder::Result::done:
          result = Result::done;
          break;
        case ChunkedDecoder::Result::more:
          break;
      }
      break;
    case BodyKind::until_close:
      if (!in.empty()) {
        std::memcpy(out.prepare(in.size()).data(), in.data(), in.size());
        out.commit(in.size());
      }
      *used = in.size();
      break;
  }
  decoded_ += out.size() - before;
  return result;
}

}  // namespace portier::proxy
