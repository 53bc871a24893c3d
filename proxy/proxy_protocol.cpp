#include "proxy/proxy_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "core/log.hpp"
#include "proxy/proxy_header.hpp"

namespace portier::proxy {
namespace {

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

void set_lowat(int fd, int value) { ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value); }

// The peer has sent FIN: what is queued is all there will be.
bool peer_finished(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// Peeks until the header is decided (SO_RCVLOWAT: the wait ends once `needed` bytes are
// queued, or at FIN); then consumes exactly the header. Null on EOF, error or timeout.
awaitable<std::optional<ProxyHeader>> take_header(tcp::socket& socket, Watchdog::Clock::time_point deadline) {
  const int fd = socket.native_handle();
  Watchdog dog(socket.get_executor());
  dog.watch(&socket);
  dog.arm(deadline - Watchdog::Clock::now());
  std::vector<uint8_t> buf(kProxyHeaderMax);
  int lowat = 1;
  std::optional<ProxyHeader> out;
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
    if (n > 0) {
      ProxyHeader h = parse_proxy_header(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
      if (h.status != ProxyHeader::Status::incomplete) {
        out = h;
        break;
      }
      if (peer_finished(fd)) break;  // a header cut short
      if (lowat != static_cast<int>(h.needed)) set_lowat(fd, lowat = static_cast<int>(h.needed));
    }
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec) break;
  }
  if (lowat != 1) set_lowat(fd, 1);
  // A complete header is all queued (it was peeked whole): one recv takes exactly it.
  if (out && out->status == ProxyHeader::Status::complete &&
      ::recv(fd, buf.data(), out->length, MSG_DONTWAIT) != static_cast<ssize_t>(out->length))
    out.reset();
  co_return out;
}

}  // namespace

std::shared_ptr<const ProxyProtocolPolicy> ProxyProtocolPolicy::make(const config::EntryPoint& ep) {
  if (!ep.proxy_protocol) return nullptr;
  auto policy = std::make_shared<ProxyProtocolPolicy>();
  policy->insecure_ = ep.proxy_protocol->insecure;
  std::string error;
  policy->trusted_ = IpRanges::parse(ep.proxy_protocol->trusted_ips, &error);
  if (!policy->trusted_) core::log_error("entrypoint ", ep.name, ": proxyProtocol.trustedIPs: ", error);
  return policy;
}

bool ProxyProtocolPolicy::trusts(const asio::ip::address& sender) const {
  if (insecure_) return true;
  if (!trusted_) return false;
  std::array<unsigned char, 16> ip16{};
  if (sender.is_v4()) {
    ip16[10] = ip16[11] = 0xff;
    auto b = sender.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), ip16.begin() + 12);
  } else {
    ip16 = sender.to_v6().to_bytes();
  }
  return trusted_->contains(ip16);
}

std::optional<tcp::endpoint> peer_of(const tcp::socket& socket) {
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(unmapped(remote.address()), remote.port());
}

awaitable<std::optional<tcp::endpoint>> accept_proxy_header(tcp::socket& socket,
                                                            const ProxyProtocolPolicy& policy,
                                                            Watchdog::Clock::time_point deadline) {
  auto peer = peer_of(socket);
  if (!peer) co_return std::nullopt;
  std::optional<ProxyHeader> header = co_await take_header(socket, deadline);
  if (!header) co_return std::nullopt;
  if (header->status == ProxyHeader::Status::invalid) {
    core::log_debug("PROXY protocol: malformed header from ", peer->address().to_string(), "; connection closed");
    co_return std::nullopt;
  }
  if (header->status == ProxyHeader::Status::absent || !header->source) co_return peer;
  if (!policy.trusts(peer->address())) {
    core::log_debug("PROXY protocol: ", peer->address().to_string(),
                    " is not in trustedIPs; its header is ignored");
    co_return peer;
  }
  co_return tcp::endpoint(unmapped(header->source->address()), header->source->port());
}

}  // namespace portier::proxy
