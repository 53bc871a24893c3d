#include "proxy/udp_forwarder.hpp"

#include <cerrno>
#include <cstring>

#include <boost/asio/ip/v6_only.hpp>

#include "core/log.hpp"

namespace portier::proxy {

using Clock = std::chrono::steady_clock;

struct UdpForwarder::Session {
  Session(asio::any_io_executor ex, udp::endpoint c) : upstream(ex), timer(ex), client(c) {}
  udp::socket upstream;
  asio::steady_timer timer;
  udp::endpoint client;
  Clock::time_point last = Clock::now();
  bool closed = false;
};

namespace {

void log_failure(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    core::log_error("udp forwarder failed: ", ex.what());
  }
}

}  // namespace

DatagramBatch::DatagramBatch() : slots_(new char[kBatch * kSlot]) {
  for (size_t i = 0; i < kBatch; ++i) iov_[i] = {slots_.get() + i * kSlot, kSlot};
}

int DatagramBatch::receive(int fd) {
  for (size_t i = 0; i < kBatch; ++i) {
    iov_[i].iov_len = kSlot;
    msgs_[i].msg_hdr = {};
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_name = &addrs_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  int n = ::recvmmsg(fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return n;
}

int DatagramBatch::send(int fd, int count, const udp::endpoint* to) {
  for (int i = 0; i < count; ++i) {
    iov_[i].iov_len = msgs_[i].msg_len;
    msgs_[i].msg_hdr = {};
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    if (to) {
      msgs_[i].msg_hdr.msg_name = const_cast<sockaddr*>(to->data());
      msgs_[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to->size());
    }
  }
  int sent = 0;
  while (sent < count) {
    int n = ::sendmmsg(fd, msgs_.data() + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    if (n <= 0) break;  // a full buffer drops the rest, as a router would
    sent += n;
  }
  return sent;
}

UdpForwarder::UdpForwarder(udp::socket socket, core::Snapshot<TcpRuntime>& snapshot, UdpForwarderOptions options,
                           uint32_t balancer_seed)
    : socket_(std::move(socket)), reader_(snapshot), options_(std::move(options)), seed_(balancer_seed) {}

UdpForwarder::~UdpForwarder() {
  *alive_ = false;
  stop();
}

void UdpForwarder::start() {
  error_code ignored;
  socket_.non_blocking(true, ignored);  // replies are sent synchronously; a full buffer drops
  asio::co_spawn(socket_.get_executor(), receive_loop(), log_failure);
}

void UdpForwarder::drain() {
  draining_ = true;
  error_code ignored;
  socket_.cancel(ignored);  // ends receive_loop; the socket stays open for the replies
}

void UdpForwarder::stop() {
  error_code ignored;
  socket_.close(ignored);
  while (!sessions_.empty()) close_session(*sessions_.begin()->second);
}

udp::endpoint UdpForwarder::local_endpoint() const {
  error_code ec;
  return socket_.local_endpoint(ec);
}

// Reads every queued datagram (kBatch per syscall) before waiting for readability again.
// Waiting only after a read found the queue drained cannot miss a datagram: its arrival is a
// new edge for the reactor.
awaitable<void> UdpForwarder::receive_loop() {
  auto alive = alive_;
  for (;;) {
    int n = in_batch_.receive(socket_.native_handle());
    if (n < 0) {
      if (!socket_.is_open()) co_return;
      continue;  // an error reported once (e.g. a stale ICMP error) and cleared: read on
    }
    for (int i = 0; i < n; ++i) forward_from_client(i);
    if (n == static_cast<int>(DatagramBatch::kBatch)) continue;
    auto [ec] = co_await socket_.async_wait(udp::socket::wait_read, use_tuple);
    if (!*alive || draining_ || !socket_.is_open() || ec == asio::error::operation_aborted) co_return;
  }
}

void UdpForwarder::forward_from_client(int i) {
  udp::endpoint from;
  size_t len = std::min<size_t>(in_batch_.source_len(i), from.capacity());
  std::memcpy(from.data(), in_batch_.source(i), len);
  from.resize(len);
  auto it = sessions_.find(from);
  Session* s = it != sessions_.end() ? it->second.get() : open_session(from);
  if (!s) {
    ++dropped_;
    return;
  }
  s->last = Clock::now();
  std::string_view d = in_batch_.datagram(i);
  error_code ec;
  s->upstream.send(asio::buffer(d.data(), d.size()), 0, ec);
  if (ec) {
    ++dropped_;  // would_block, or a refused earlier datagram reported now
  } else {
    ++datagrams_in_;
  }
}

UdpForwarder::Session* UdpForwarder::open_session(const udp::endpoint& client) {
  if (sessions_.size() >= options_.max_sessions) return nullptr;
  std::shared_ptr<const TcpRuntime> rt = reader_.get();
  if (!rt) return nullptr;
  int entry = rt->udp_entry_index(options_.entry_point);
  if (entry < 0 || rt->udp_entries[static_cast<size_t>(entry)].service < 0) return nullptr;
  uint32_t service = static_cast<uint32_t>(rt->udp_entries[static_cast<size_t>(entry)].service);
  const UdpServiceRuntime& svc = rt->udp_services[service];
  if (svc.schedule.empty()) return nullptr;
  if (rt->generation != rr_generation_) {
    rr_.clear();
    rr_generation_ = rt->generation;
  }
  if (service >= rr_.size()) rr_.resize(service + 1, seed_);
  const udp::endpoint& backend = svc.servers[svc.schedule[rr_[service]++ % svc.schedule.size()]];

  auto s = std::make_shared<Session>(socket_.get_executor(), client);
  error_code ec;
  s->upstream.open(backend.protocol(), ec);
  if (!ec) s->upstream.connect(backend, ec);  // UDP connect: no traffic, filters replies
  if (!ec) s->upstream.non_blocking(true, ec);
  if (ec) {
    core::log_debug("udp ", options_.entry_point, ": cannot open upstream socket: ", ec.message());
    return nullptr;
  }
  sessions_.emplace(client, s);
  live_sessions_.store(sessions_.size(), std::memory_order_relaxed);
  asio::co_spawn(socket_.get_executor(), upstream_loop(s), log_failure);
  asio::co_spawn(socket_.get_executor(), expiry_loop(s), log_failure);
  return s.get();
}

void UdpForwarder::close_session(Session& s) {
  if (s.closed) return;
  s.closed = true;
  error_code ignored;
  s.upstream.close(ignored);
  s.timer.cancel();
  sessions_.erase(s.client);  // may destroy `s` unless a loop still holds it
  live_sessions_.store(sessions_.size(), std::memory_order_relaxed);
}

// Replies are read synchronously into the shared batch (no buffer per session), kBatch per
// syscall, and sent to the client together; the socket is drained before every wait.
awaitable<void> UdpForwarder::upstream_loop(std::shared_ptr<Session> s) {
  auto alive = alive_;
  for (;;) {
    for (;;) {
      int n = reply_batch_.receive(s->upstream.native_handle());
      // ECONNREFUSED (an ICMP port unreachable) is reported once: the backend may come back.
      if (n < 0 && errno == ECONNREFUSED) continue;
      if (n <= 0) break;  // drained, or closed
      s->last = Clock::now();
      int sent = reply_batch_.send(socket_.native_handle(), n, &s->client);
      datagrams_out_ += static_cast<uint64_t>(sent);
      dropped_ += static_cast<uint64_t>(n - sent);
      if (n < static_cast<int>(DatagramBatch::kBatch)) break;
    }
    if (s->closed) co_return;
    co_await s->upstream.async_wait(udp::socket::wait_read, use_tuple);
    if (!*alive || s->closed) co_return;
  }
}

// Sleeps until the session's idle deadline; traffic only moves `last`, never the timer.
awaitable<void> UdpForwarder::expiry_loop(std::shared_ptr<Session> s) {
  auto alive = alive_;
  for (;;) {
    s->timer.expires_at(s->last + options_.session_timeout);
    co_await s->timer.async_wait(use_tuple);
    if (!*alive || s->closed) co_return;
    if (Clock::now() >= s->last + options_.session_timeout) {
      close_session(*s);
      co_return;
    }
  }
}

udp::socket open_udp_socket(asio::io_context& io, const udp::endpoint& ep, bool reuse_port, std::string* error) {
  udp::socket socket(io);
  error_code ec;
  socket.open(ep.protocol(), ec);
  if (!ec && ep.address().is_v6() && ep.address().is_unspecified()) socket.set_option(asio::ip::v6_only(false), ec);
  int one = 1;
  if (!ec && reuse_port && ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec) socket.bind(ep, ec);
  if (ec) {
    if (error) *error = ep.address().to_string() + ":" + std::to_string(ep.port()) + "/udp: " + ec.message();
    error_code ignored;
    socket.close(ignored);
  }
  return socket;
}

}  // namespace portier::proxy
