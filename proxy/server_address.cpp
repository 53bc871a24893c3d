#include "proxy/server_address.hpp"

#include <netdb.h>

#include <cstdlib>
#include <cstring>

namespace portier::proxy {

bool parse_url(const std::string& url, ParsedUrl& out) {
  size_t sep = url.find("://");
  if (sep == std::string::npos) return false;
  out.scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return false;
  if (port.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return false;
    out.port = static_cast<uint16_t>(p);
  }
  return true;
}

bool resolve(const std::string& host, uint16_t port, boost::asio::ip::tcp::endpoint& out) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (!ec) {
    out = {addr, port};
    return true;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  boost::asio::ip::tcp::endpoint ep;
  if (res->ai_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(res->ai_addr);
    ep = {boost::asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)), port};
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(res->ai_addr);
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
    ep = {boost::asio::ip::address_v6(bytes), port};
  }
  ::freeaddrinfo(res);
  out = ep;
  return true;
}

}  // namespace portier::proxy
