#include "proxy/quic_steering.hpp"

#include <linux/filter.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace portier::proxy {
namespace {

constexpr uint8_t kLongHeader = 0x80;
constexpr uint32_t kShortDcid = 1;  // after the flags byte
constexpr uint32_t kLongDcid = 6;   // after flags, version (4) and the ID's length byte

}  // namespace

uint8_t QuicSteering::first_byte(uint8_t random) const {
  // The bytes ≡ index (mod count) are index, index + count, ... up to 255: `choices` of them.
  const uint32_t choices = (255 - index) / count + 1;
  return static_cast<uint8_t>(index + count * (random % choices));
}

bool QuicSteering::new_cid(uint8_t* cid, size_t len) const {
  if (len == 0 || RAND_bytes(cid, static_cast<int>(len)) != 1) return false;
  cid[0] = first_byte(cid[0]);
  return true;
}

uint32_t steered_socket(std::span<const uint8_t> payload, uint32_t count) {
  if (payload.empty()) return 0;
  const uint32_t at = (payload[0] & kLongHeader) ? kLongDcid : kShortDcid;
  return at < payload.size() ? payload[at] % count : 0;
}

// The program runs on the UDP payload (the kernel pulls the UDP header first) and returns the
// socket's index in the group; an index out of range falls back to the kernel's hash.
std::string attach_quic_steering(int fd, uint32_t count) {
  if (count == 0 || count > kMaxSteeredSockets) return "steering over " + std::to_string(count) + " sockets";
  std::array<sock_filter, 7> program{{
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                      // A = flags
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kLongHeader, 2, 0),    // long header: skip 2
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kShortDcid),             // A = short header's DCID[0]
      BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),                        // to the modulo
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kLongDcid),              // A = long header's DCID[0]
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, count),                 // A %= count
      BPF_STMT(BPF_RET | BPF_A, 0),
  }};
  sock_fprog prog{static_cast<unsigned short>(program.size()), program.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
    return std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno);
  return {};
}

}  // namespace portier::proxy
