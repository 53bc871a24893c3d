#pragma once
// HTTP tokens (RFC 9110 §5.6.2), the syntax of header names and methods, and Go's canonical
// spelling of a header name. http1_parser.cpp keeps its own table for the data plane.
#include <string>
#include <string_view>

namespace portier::config {

// A tchar: a letter, a digit or one of !#$%&'*+-.^_`|~.
bool is_tchar(char c);
// One tchar or more.
bool is_token(std::string_view s);
// Go's textproto.CanonicalMIMEHeaderKey: "user-agent" → "User-Agent"; a name that is not a
// token is returned unchanged.
std::string canonical_header_name(std::string_view name);

}  // namespace portier::config
