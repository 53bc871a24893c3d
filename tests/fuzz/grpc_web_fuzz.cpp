// The gRPC-Web forms of outside input (proxy/grpc_web_codec.*): the first line is a client's
// grpc-web-text body, the second its Access-Control-Request-Headers, the third an allowOrigins
// entry, the rest an upstream's trailer section.
// Checks: no crash; a decoded body re-encodes to its input (CR/LF removed) when that input had
// no padding inside; a trailer frame's length prefix is its size; an allowed-headers list holds
// only [A-Za-z0-9._-], ',' and ' '.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/grpc_web_codec.hpp"
#include "tests/fuzz/fuzz_input.hpp"
#include "tls/base64.hpp"

using namespace portier;
using portier::fuzz::next_line;

namespace {
void check_text(std::string_view text) {
  auto decoded = proxy::decode_grpc_web_text(text);
  if (!decoded) return;
  std::string plain;
  for (char c : text)
    if (c != '\r' && c != '\n') plain += c;
  size_t pad = plain.find('=');
  bool one_part = pad == std::string::npos || plain.find_first_not_of('=', pad) == std::string::npos;
  if (one_part && tls::base64_encode(*decoded).size() != plain.size()) std::abort();
}

void check_frame(std::string_view raw) {
  std::string frame = proxy::grpc_web_trailer_frame(raw);
  if (frame.size() < 5 || static_cast<unsigned char>(frame[0]) != 0x80) std::abort();
  uint32_t n = 0;
  for (int i = 1; i < 5; ++i) n = (n << 8) | static_cast<unsigned char>(frame[i]);
  if (n != frame.size() - 5) std::abort();
}

void check_list(std::string_view headers) {
  for (char c : proxy::cors_header_list(headers))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-' || c == ',' || c == ' '))
      std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_text(next_line(in));
  check_list(next_line(in));
  proxy::is_cors_origin(next_line(in));
  check_frame(in);
  return 0;
}
