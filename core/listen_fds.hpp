#pragma once
// Listening sockets inherited from systemd socket activation, with sd_listen_fds(3)
// semantics: LISTEN_PID names this process, LISTEN_FDS counts the descriptors from 3 on,
// LISTEN_FDNAMES (optional) names them, colon-separated. A systemd restart then refuses no
// connection: the sockets stay open in PID 1 and the kernel queues connections until the new
// process accepts them.
//
// Contract: from_environment() is called once, on the main thread, before any other thread
// starts. It unsets the three variables (a child never sees them) and marks every descriptor
// close-on-exec. The sockets are owned here until the object goes: callers match them to
// their entrypoints by address with take() and serve a dup() of the descriptor.
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace portier::core {

struct InheritedSocket {
  int fd = -1;
  std::string name;  // from LISTEN_FDNAMES, or "fd<N>"
  bool stream = true;  // SOCK_STREAM (else SOCK_DGRAM)
  boost::asio::ip::address address;
  uint16_t port = 0;
  bool used = false;
  // "name (address:port/tcp)", for logs.
  std::string describe() const;
};

class InheritedSockets {
 public:
  InheritedSockets() = default;
  InheritedSockets(const InheritedSockets&) = delete;
  InheritedSockets& operator=(const InheritedSockets&) = delete;
  InheritedSockets(InheritedSockets&& other) noexcept : sockets_(std::move(other.sockets_)) {}
  InheritedSockets& operator=(InheritedSockets&& other) noexcept;
  ~InheritedSockets();

  // The sockets passed to this process (none when LISTEN_PID is absent or another process's).
  // A descriptor that is not an IP socket is closed and reported in *problems.
  static InheritedSockets from_environment(std::vector<std::string>* problems);

  // The sockets bound to `address`:`port` (several after a live upgrade: the previous process
  // passes one per worker). An unspecified `address` (an entrypoint without a host, ":80")
  // also matches a socket bound to the other family's wildcard. They are marked used.
  std::vector<const InheritedSocket*> take(bool stream, const boost::asio::ip::address& address, uint16_t port);

  // Every inherited socket; `used` tells which find() returned.
  const std::vector<InheritedSocket>& sockets() const { return sockets_; }

 private:
  std::vector<InheritedSocket> sockets_;
};

}  // namespace portier::core
