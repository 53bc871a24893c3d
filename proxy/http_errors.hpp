#pragma once
// Status lines and the small responses portier generates itself (errors, as Traefik words them).
#include <string>
#include <string_view>

namespace portier::proxy {

std::string_view reason_phrase(int status);
// Whether Go's http.StatusText knows `status` (Traefik refuses a configured code it does not).
inline bool known_status(int status) { return reason_phrase(status) != "Unknown"; }
// "HTTP/1.1 404 Not Found\r\n" (reason from the table when `reason` is empty).
std::string status_line(int status, std::string_view reason = {});
// The same, appended to a head being built.
void append_status_line(std::string& out, int status, std::string_view reason = {});
// The short text body of portier's own error responses (as Traefik words them).
std::string error_body(int status);
// A complete response with error_body(status); `close` adds "Connection: close".
std::string error_response(int status, bool close);

}  // namespace portier::proxy
