#include "core/listen_fds.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace portier::core {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START
constexpr int kMaxFds = 4096;

bool parse_number(const char* text, long& out) {
  if (!text || !*text) return false;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && ptr == end;
}

std::vector<std::string> split_names(const char* text) {
  std::vector<std::string> names;
  if (!text) return names;
  std::string_view rest(text);
  while (true) {
    auto colon = rest.find(':');
    names.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return names;
}

// Fills the address, port and type of `s.fd`; false when it is not an IPv4/IPv6 socket.
bool describe_fd(InheritedSocket& s) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return false;
  if (type != SOCK_STREAM && type != SOCK_DGRAM) return false;
  s.stream = type == SOCK_STREAM;
  sockaddr_storage ss{};
  len = sizeof ss;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    s.address = boost::asio::ip::address_v4(ntohl(in.sin_addr.s_addr));
    s.port = ntohs(in.sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), in6.sin6_addr.s6_addr, bytes.size());
    s.address = boost::asio::ip::address_v6(bytes, in6.sin6_scope_id);
    s.port = ntohs(in6.sin6_port);
    return true;
  }
  return false;
}

}  // namespace

std::string InheritedSocket::describe() const {
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return name + " (" + host + ":" + std::to_string(port) + (stream ? "/tcp)" : "/udp)");
}

InheritedSockets::~InheritedSockets() {
  for (const auto& s : sockets_) ::close(s.fd);
}

InheritedSockets& InheritedSockets::operator=(InheritedSockets&& other) noexcept {
  if (this != &other) {
    for (const auto& s : sockets_) ::close(s.fd);
    sockets_ = std::move(other.sockets_);
    other.sockets_.clear();
  }
  return *this;
}

InheritedSockets InheritedSockets::from_environment(std::vector<std::string>* problems) {
  InheritedSockets out;
  long pid = 0, count = 0;
  const bool ours = parse_number(std::getenv("LISTEN_PID"), pid) && pid == ::getpid();
  const bool counted = parse_number(std::getenv("LISTEN_FDS"), count);
  const auto names = split_names(std::getenv("LISTEN_FDNAMES"));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return out;
  if (!counted || count < 0 || count > kMaxFds) {
    problems->push_back("LISTEN_FDS: expected a number of descriptors, ignoring the inherited sockets");
    return out;
  }
  for (int i = 0; i < count; ++i) {
    InheritedSocket s;
    s.fd = kFirstFd + i;
    s.name = static_cast<size_t>(i) < names.size() && !names[i].empty() ? names[i] : "fd" + std::to_string(s.fd);
    if (::fcntl(s.fd, F_SETFD, FD_CLOEXEC) != 0) {
      problems->push_back("inherited socket " + s.name + ": descriptor " + std::to_string(s.fd) + " is not open");
      continue;
    }
    if (!describe_fd(s)) {
      problems->push_back("inherited socket " + s.name + ": not an IPv4/IPv6 stream or datagram socket, closed");
      ::close(s.fd);
      continue;
    }
    out.sockets_.push_back(std::move(s));
  }
  return out;
}

std::vector<const InheritedSocket*> InheritedSockets::take(bool stream, const boost::asio::ip::address& address,
                                                          uint16_t port) {
  std::vector<const InheritedSocket*> out;
  for (auto& s : sockets_) {
    if (s.stream != stream || s.port != port) continue;
    if (s.address != address && !(address.is_unspecified() && s.address.is_unspecified())) continue;
    s.used = true;
    out.push_back(&s);
  }
  return out;
}

}  // namespace portier::core
