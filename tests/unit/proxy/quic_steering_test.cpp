// QUIC connection-ID steering: a listener's IDs start with a byte ≡ its index (mod count);
// the program attached to a real reuseport group of UDP sockets delivers a datagram to the
// socket its destination ID's first byte names, whichever port it comes from (a migrated
// client), for short and long headers, as steered_socket() says.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <set>
#include <vector>

#include "proxy/quic_steering.hpp"

namespace portier::proxy {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// `count` UDP sockets in one reuseport group on 127.0.0.1, in group order, and their port.
std::vector<Fd> reuseport_group(size_t count, uint16_t& port) {
  std::vector<Fd> out;
  port = 0;
  for (size_t i = 0; i < count; ++i) {
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    REQUIRE(s.fd >= 0);
    int one = 1;
    REQUIRE(::setsockopt(s.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
    auto a = loopback(port);
    REQUIRE(::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    out.push_back(std::move(s));
  }
  return out;
}

// The index of the socket that received one datagram (waiting up to 2 s), or -1.
int receiver(const std::vector<Fd>& group) {
  std::vector<pollfd> fds;
  for (const auto& s : group) fds.push_back({s.fd, POLLIN, 0});
  if (::poll(fds.data(), fds.size(), 2000) <= 0) return -1;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & POLLIN)) continue;
    std::array<uint8_t, 2048> buf;
    ::recv(group[i].fd, buf.data(), buf.size(), 0);
    return static_cast<int>(i);
  }
  return -1;
}

std::vector<uint8_t> short_header(uint8_t dcid0) {
  std::vector<uint8_t> p{0x41, dcid0};
  p.resize(40, 0xab);
  return p;
}

std::vector<uint8_t> long_header(uint8_t dcid0) {
  std::vector<uint8_t> p{0xc3, 0, 0, 0, 1, 18, dcid0};
  p.resize(1200, 0);
  return p;
}

}  // namespace

TEST_CASE("A listener's connection IDs start with a byte congruent to its index") {
  for (uint32_t count : {1u, 2u, 3u, 7u, 64u, 256u}) {
    for (uint32_t index = 0; index < count; ++index) {
      QuicSteering steering{index, count};
      std::set<uint8_t> seen;
      for (int r = 0; r < 256; ++r) {
        uint8_t b = steering.first_byte(static_cast<uint8_t>(r));
        CHECK(b % count == index);
        seen.insert(b);
      }
      CHECK(seen.size() == (255 - index) / count + 1);  // every such byte is used
    }
  }
  QuicSteering steering{2, 3};
  std::array<uint8_t, 18> cid{};
  REQUIRE(steering.new_cid(cid.data(), cid.size()));
  CHECK(cid[0] % 3 == 2);
  CHECK(steered_socket(short_header(cid[0]), 3) == 2);
  CHECK_FALSE(steering.new_cid(cid.data(), 0));
}

TEST_CASE("steered_socket reads the destination ID's first byte of either header") {
  CHECK(steered_socket(short_header(7), 4) == 3);
  CHECK(steered_socket(long_header(7), 4) == 3);
  CHECK(steered_socket(long_header(200), 3) == 200 % 3);
  CHECK(steered_socket({}, 4) == 0);
  const std::vector<uint8_t> truncated{0xc3, 0, 0, 0, 1, 18};
  CHECK(steered_socket(truncated, 4) == 0);
}

TEST_CASE("The kernel delivers each datagram to the socket its destination ID steers to") {
  constexpr uint32_t kCount = 3;
  uint16_t port = 0;
  auto group = reuseport_group(kCount, port);
  REQUIRE(attach_quic_steering(group.front().fd, kCount).empty());
  auto to = loopback(port);
  // Several client sockets (each a source port: what a migrating client looks like) send
  // packets for every first byte; each must land where the rule says.
  for (int client = 0; client < 4; ++client) {
    Fd c(::socket(AF_INET, SOCK_DGRAM, 0));
    REQUIRE(c.fd >= 0);
    for (int b = 0; b < 256; b += 5) {
      for (const auto& packet : {short_header(static_cast<uint8_t>(b)), long_header(static_cast<uint8_t>(b))}) {
        REQUIRE(::sendto(c.fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                static_cast<ssize_t>(packet.size()));
        INFO("client " << client << ", first byte " << b << ", header " << std::hex << int(packet[0]));
        CHECK(receiver(group) == static_cast<int>(steered_socket(packet, kCount)));
      }
    }
  }
}

TEST_CASE("Steering is refused for a socket outside a reuseport group or too many sockets") {
  Fd plain(::socket(AF_INET, SOCK_DGRAM, 0));
  auto a = loopback(0);
  REQUIRE(::bind(plain.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  CHECK_FALSE(attach_quic_steering(plain.fd, 2).empty());
  CHECK_FALSE(attach_quic_steering(plain.fd, kMaxSteeredSockets + 1).empty());
}

}  // namespace portier::proxy
