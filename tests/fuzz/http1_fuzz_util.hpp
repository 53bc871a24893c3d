#pragma once
// Helpers shared by the HTTP/1.1 fuzz targets (request and response heads).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/http1_parser.hpp"

namespace portier::proxy::fuzz {

// Whether `part` (a view the parser returned) lies inside `whole` (the input).
inline bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Feeds `body` to a BodyFraming in pieces of `step` bytes; returns the bytes taken when done,
// SIZE_MAX on error, SIZE_MAX - 1 when it wants more. Aborts if the framing takes more than
// offered, or less while asking for more (everything offered then belongs to the body).
inline size_t walk(BodyKind kind, uint64_t length, std::string_view body, size_t step) {
  BodyFraming framing(kind, length);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t take = 0;
    std::string_view piece = body.substr(pos, step);
    auto s = framing.feed(piece, &take);
    if (take > piece.size()) std::abort();
    pos += take;
    if (s == BodyFraming::Step::error) return SIZE_MAX;
    if (s == BodyFraming::Step::done) return pos;
    if (take < piece.size()) std::abort();
  }
  return SIZE_MAX - 1;
}

}  // namespace portier::proxy::fuzz
