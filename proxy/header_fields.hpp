#pragma once
// Helpers about header fields by name and value, free of any proxy state (the fuzz targets
// link them alone).
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http1_parser.hpp"

namespace portier::proxy {

// Appends "name: value\r\n" (one size change, then copies: every relayed header goes here).
inline void append_header(std::string& out, std::string_view name, std::string_view value) {
  size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}
// Hop-by-hop: the fixed names and those `connection_header` (the Connection value) lists.
bool is_hop_by_hop(std::string_view name, std::string_view connection_header);
// The first value of `name`, or "".
std::string_view find_header(const std::vector<HeaderField>& headers, std::string_view name);
// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(std::string_view cookies, std::string_view name);
// The cookie name of a Set-Cookie value ("" when it has none).
std::string_view set_cookie_name(std::string_view set_cookie);

}  // namespace portier::proxy
