// What compress reads from clients and upstreams: Accept-Encoding field lines (before the first
// newline; '\x01' separates lines) and a Content-Type (the rest). The negotiated coding is one
// of the configured encodings or none; a parsed media type matches itself.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/content_coding.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portier::proxy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  std::string_view accept = text.substr(0, newline);
  std::string_view type = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);

  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= accept.size();) {
    size_t end = std::min(accept.find('\x01', start), accept.size());
    lines.push_back(accept.substr(start, end - start));
    start = end + 1;
  }
  static const std::vector<std::string> encodings{"zstd", "br", "gzip"};
  for (std::string_view fallback : {std::string_view(), std::string_view("br")}) {
    std::string chosen = negotiate_encoding(lines, encodings, fallback);
    if (!chosen.empty() && std::find(encodings.begin(), encodings.end(), chosen) == encodings.end())
      std::abort();
  }

  if (auto media = parse_media_type(type)) {
    if (media->type.find('/') == std::string::npos || !media_type_matches(*media, *media)) std::abort();
  }
  return 0;
}
