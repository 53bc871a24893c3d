#pragma once
// One UDP entrypoint address: datagrams from each client address form a session with its own
// connected upstream socket (so replies are told apart by the kernel), the backend is chosen
// per session (weighted round robin), replies go back to the client from the entrypoint's own
// socket, and a session ends after `session_timeout` without a datagram in either direction.
//
// Threading: one forwarder per entrypoint address, on ONE worker (the lead picks it, e.g.
// entrypoint position % workers). Deliberately no SO_REUSEPORT group across workers: the
// kernel's hash would keep a client on one socket only while the group never changes, and a
// session that moved would silently get a second upstream socket (and a second backend).
// One thread moves far more datagrams than the UDP services behind portier need.
// Everything here runs on that worker's thread.
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "core/snapshot.hpp"
#include "proxy/asio.hpp"
#include "proxy/tcp_runtime.hpp"

namespace portier::proxy {

using udp = asio::ip::udp;

struct UdpForwarderOptions {
  std::string entry_point;  // name; its router is looked up in the snapshot per new session
  std::chrono::milliseconds session_timeout{3000};  // EntryPoint::udp_timeout
  size_t max_sessions = 16384;  // datagrams from further new clients are dropped
};

// Up to kBatch datagrams read (recvmmsg) or written (sendmmsg) by one syscall. Each slot
// holds a whole datagram (64 KiB); pages are touched only as far as datagrams reach.
struct DatagramBatch {
  static constexpr size_t kBatch = 16;
  static constexpr size_t kSlot = 65536;
  DatagramBatch();
  // Reads what is queued on `fd` without blocking: the count (0 when nothing was queued;
  // fewer than kBatch means the queue is drained), or -1 with errno.
  int receive(int fd);
  // Sends datagrams [0, count) to `to` (nullptr: the connected peer): how many were sent.
  int send(int fd, int count, const udp::endpoint* to);
  std::string_view datagram(int i) const { return {slots_.get() + i * kSlot, msgs_[i].msg_len}; }
  const sockaddr* source(int i) const { return reinterpret_cast<const sockaddr*>(&addrs_[i]); }
  socklen_t source_len(int i) const { return msgs_[i].msg_hdr.msg_namelen; }

 private:
  std::unique_ptr<char[]> slots_;
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_storage, kBatch> addrs_{};
  std::array<mmsghdr, kBatch> msgs_{};
};

class UdpForwarder {
 public:
  // `socket` is open and bound; `snapshot` outlives this.
  UdpForwarder(udp::socket socket, core::Snapshot<TcpRuntime>& snapshot, UdpForwarderOptions options,
               uint32_t balancer_seed = 0);
  ~UdpForwarder();
  UdpForwarder(const UdpForwarder&) = delete;
  UdpForwarder& operator=(const UdpForwarder&) = delete;

  void start();
  // Drain (a restart or a live upgrade): stops reading the entrypoint socket, whose queued and
  // further datagrams are then the next process's, and keeps the open sessions relaying their
  // backends' replies until each goes idle for `session_timeout` or stop() is called.
  void drain();
  // Closes the entrypoint socket and every session.
  void stop();
  size_t sessions() const { return sessions_.size(); }
  // Sessions still open; readable from any thread.
  size_t live_sessions() const { return live_sessions_.load(std::memory_order_relaxed); }
  udp::endpoint local_endpoint() const;
  // The entrypoint's socket (handed to the next process by a live upgrade) and its name.
  int native_handle() { return socket_.native_handle(); }
  const std::string& entry_point() const { return options_.entry_point; }

  uint64_t datagrams_in() const { return datagrams_in_; }    // client -> backend, sent
  uint64_t datagrams_out() const { return datagrams_out_; }  // backend -> client, sent
  uint64_t dropped() const { return dropped_; }

 private:
  struct Session;
  awaitable<void> receive_loop();
  void forward_from_client(int i);  // datagram i of in_batch_
  awaitable<void> upstream_loop(std::shared_ptr<Session> s);
  awaitable<void> expiry_loop(std::shared_ptr<Session> s);
  Session* open_session(const udp::endpoint& client);
  void close_session(Session& s);

  udp::socket socket_;
  core::Snapshot<TcpRuntime>::Reader reader_;
  UdpForwarderOptions options_;
  std::unordered_map<udp::endpoint, std::shared_ptr<Session>> sessions_;
  std::atomic<size_t> live_sessions_{0};  // sessions_.size(), for other threads
  bool draining_ = false;
  std::vector<uint32_t> rr_;
  uint64_t rr_generation_ = ~uint64_t{0};
  uint32_t seed_;
  DatagramBatch in_batch_;     // datagrams from clients, read kBatch at a time
  DatagramBatch reply_batch_;  // shared by every session: replies are read synchronously
  uint64_t datagrams_in_ = 0, datagrams_out_ = 0, dropped_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Opens a UDP socket bound to `ep` (IPv6 wildcard: dual-stack). Empty socket + *error on failure.
udp::socket open_udp_socket(asio::io_context& io, const udp::endpoint& ep, bool reuse_port, std::string* error);

}  // namespace portier::proxy
