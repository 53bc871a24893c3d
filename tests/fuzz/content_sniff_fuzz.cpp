// What contentType reads from upstreams: the first bytes of a response body. The answer is
// always one of the table's types, never empty.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/content_sniff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view type = portier::proxy::detect_content_type(bytes);
  if (type.empty() || type.find('/') == std::string_view::npos) std::abort();
  return 0;
}
