#include "proxy/header_fields.hpp"

#include <algorithm>

namespace portier::proxy {

bool is_hop_by_hop(std::string_view name, std::string_view connection) {
  // By length first: most end-to-end headers match no hop-by-hop name's length.
  bool hop = false;
  switch (name.size()) {
    case 2: hop = iequals(name, "te"); break;
    case 7: hop = iequals(name, "trailer") || iequals(name, "upgrade"); break;
    case 10: hop = iequals(name, "connection") || iequals(name, "keep-alive"); break;
    case 16: hop = iequals(name, "proxy-connection"); break;
    case 17: hop = iequals(name, "transfer-encoding"); break;
    case 18: hop = iequals(name, "proxy-authenticate"); break;
    case 19: hop = iequals(name, "proxy-authorization"); break;
    default: break;
  }
  return hop || (!connection.empty() && header_has_token(connection, name));
}

std::string_view find_header(const std::vector<HeaderField>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

std::string_view cookie_value(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    size_t semi = cookies.find(';');
    std::string_view item = cookies.substr(0, semi);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name && item[name.size()] == '=')
      return item.substr(name.size() + 1);
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return {};
}

std::string_view set_cookie_name(std::string_view set_cookie) {
  auto name = set_cookie.substr(0, std::min(set_cookie.find('='), set_cookie.find(';')));
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return name;
}

}  // namespace portier::proxy
