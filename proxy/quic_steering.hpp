#pragma once
// Connection-ID steering between the SO_REUSEPORT sockets of one HTTP/3 address, one per
// worker. A QUIC connection's state lives on one worker (ngtcp2 and nghttp3 are not
// thread-safe), so every packet of the connection must reach that worker's socket, also after
// the client moved to another address or port (migration), which the kernel's default
// reuseport choice (a hash of the 4-tuple) does not do.
//
// The rule: a packet goes to socket (first byte of its destination connection ID) mod count,
// the sockets numbered in the order they joined the reuseport group. A classic BPF program
// attached to the group (SO_ATTACH_REUSEPORT_CBPF: no bpf() syscall, no eBPF privileges)
// applies it in the kernel; each listener issues server connection IDs whose first byte is
// its own index mod count. A client's first Initial carries a destination ID of its own
// choosing: it lands on some socket, whose listener accepts it, and from then on the client
// addresses that listener's IDs.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace portier::proxy {

// One byte of connection ID steers: at most this many sockets per address.
inline constexpr uint32_t kMaxSteeredSockets = 256;

// A listener's place among the `count` sockets of its address (index < count <= 256).
struct QuicSteering {
  uint32_t index = 0;
  uint32_t count = 1;

  // The first byte of a server connection ID: ≡ index (mod count), otherwise from `random`
  // (so IDs stay unpredictable in their other bits).
  uint8_t first_byte(uint8_t random) const;
  // Fills `cid` (len >= 1) with random bytes, its first byte from first_byte(). False when the
  // random source fails.
  bool new_cid(uint8_t* cid, size_t len) const;
};

// The socket the attached program picks for a UDP payload, 0..count-1: the destination ID's
// first byte is byte 1 of a short header, byte 6 of a long one (after the flags, the 4-byte
// version and the ID's length byte). A payload too short for it gets 0, as in the kernel (a
// load past the end returns 0). The program's rule in C++, for tests and documentation.
uint32_t steered_socket(std::span<const uint8_t> payload, uint32_t count);

// Attaches the steering program for `count` sockets to the reuseport group of `fd` (bound with
// SO_REUSEPORT; the group holds every socket of the address, in index order). Empty on
// success, else the reason.
std::string attach_quic_steering(int fd, uint32_t count);

}  // namespace portier::proxy
