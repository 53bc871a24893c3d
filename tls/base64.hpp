#pragma once
// Standard base64 (RFC 4648 §4, padded), as Go's encoding/json writes []byte fields.
#include <optional>
#include <string>
#include <string_view>

namespace portier::tls {

std::string base64_encode(std::string_view bytes);
// The value of one base64 character (0-63), -1 for any other byte ('=' included).
int base64_value(char c);
// Accepts missing padding and ignores ASCII whitespace; nullopt on any other stray byte.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace portier::tls
