#include "proxy/response_collector.hpp"

#include <algorithm>

namespace portier::proxy {

ResponseCollector::Step ResponseCollector::add(std::string_view payload) {
  if (discard_) return Step::more;
  if (max_ > 0 && body_.size() + payload.size() > static_cast<uint64_t>(max_)) return Step::too_large;
  return body_.append(payload, memory_) ? Step::more : Step::error;
}

ResponseCollector::Step ResponseCollector::feed(std::string_view in, size_t* used) {
  *used = 0;
  switch (kind_) {
    case BodyKind::none:
      return Step::done;
    case BodyKind::length: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
      *used = take;
      remaining_ -= take;
      Step s = add(in.substr(0, take));
      return s == Step::more && remaining_ == 0 ? Step::done : s;
    }
    case BodyKind::until_close:
      *used = in.size();
      return add(in);
    case BodyKind::chunked: {
      auto r = decoder_.feed(in, used, decoded_);
      if (r == ChunkedDecoder::Result::error) return Step::error;
      Step s = add(decoded_.readable());
      decoded_.consume(decoded_.size());
      return s == Step::more && r == ChunkedDecoder::Result::done ? Step::done : s;
    }
  }
  return Step::error;
}

}  // namespace portier::proxy
