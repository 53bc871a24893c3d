#pragma once
// The Content-Type Go's net/http gives a response that has none (http.DetectContentType, the
// WHATWG MIME sniffing table as Go implements it): what the contentType middleware restores.
// Pure; any input.
#include <string_view>

namespace portier::proxy {

// From the first bytes of the payload (at most 512 are looked at); "application/octet-stream"
// when nothing matches.
std::string_view detect_content_type(std::string_view data);

}  // namespace portier::proxy
