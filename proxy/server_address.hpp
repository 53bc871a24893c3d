#pragma once
// A server URL taken apart ("http://host:port/base"), and its host resolved to an endpoint.
// Used when a configuration is compiled (control thread): services' servers, forwardAuth's
// address.
#include <cstdint>
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace portier::proxy {

struct ParsedUrl {
  std::string scheme, host, path;  // path: what follows the authority, without a final '/'
  uint16_t port = 0;               // the scheme's default when the URL has none
};

bool parse_url(const std::string& url, ParsedUrl& out);

// Numeric addresses directly; names through the system resolver (blocking: control thread only).
bool resolve(const std::string& host, uint16_t port, boost::asio::ip::tcp::endpoint& out);

}  // namespace portier::proxy
