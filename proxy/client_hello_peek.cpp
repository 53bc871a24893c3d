#include "proxy/client_hello_peek.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "proxy/watchdog.hpp"

namespace portier::proxy {
namespace detail {
namespace {

constexpr size_t kMaxRecord = 16384;
constexpr size_t kMaxHandshake = 65536;

// Bounds-checked big-endian reader; once a read fails every later read fails too.
struct Cursor {
  std::span<const uint8_t> d;
  size_t p = 0;
  bool ok = true;

  bool has(size_t n) {
    if (ok && d.size() - p < n) ok = false;
    return ok;
  }
  uint32_t num(size_t n) {
    if (!has(n)) return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | d[p++];
    return v;
  }
  std::span<const uint8_t> bytes(size_t n) {
    if (!has(n)) return {};
    auto out = d.subspan(p, n);
    p += n;
    return out;
  }
  // A vector with an n-byte length prefix.
  Cursor sub(size_t n) {
    size_t len = num(n);
    auto b = bytes(len);
    return Cursor{b, 0, ok};
  }
  bool done() const { return p == d.size(); }
};

bool parse_sni(Cursor ext, std::string& sni) {
  Cursor list = ext.sub(2);
  while (list.ok && !list.done()) {
    uint32_t type = list.num(1);
    auto name = list.sub(2);
    if (!list.ok || name.d.empty() || name.d.size() > 255) return false;
    if (type != 0 || !sni.empty()) continue;
    for (uint8_t c : name.d) {
      if (c <= 0x20 || c >= 0x7f) return false;
      sni.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c));
    }
  }
  return list.ok && ext.ok;
}

bool parse_alpn(Cursor ext, std::vector<std::string>& alpn) {
  Cursor list = ext.sub(2);
  while (list.ok && !list.done()) {
    auto proto = list.sub(1);
    if (!list.ok || proto.d.empty()) return false;
    alpn.emplace_back(reinterpret_cast<const char*>(proto.d.data()), proto.d.size());
  }
  return list.ok && ext.ok;
}

HelloStatus parse_body(std::span<const uint8_t> body, ClientHelloInfo& out) {
  Cursor c{body};
  c.num(2);      // legacy_version
  c.bytes(32);   // random
  c.sub(1);      // session id
  c.sub(2);      // cipher suites
  c.sub(1);      // compression methods
  if (!c.ok) return HelloStatus::malformed;
  if (c.done()) return HelloStatus::complete;  // no extensions
  Cursor exts = c.sub(2);
  while (exts.ok && !exts.done()) {
    uint32_t type = exts.num(2);
    Cursor data = exts.sub(2);
    if (!exts.ok) break;
    if (type == 0 && !parse_sni(data, out.sni)) return HelloStatus::malformed;
    if (type == 16 && !parse_alpn(data, out.alpn)) return HelloStatus::malformed;
  }
  return exts.ok ? HelloStatus::complete : HelloStatus::malformed;
}

}  // namespace

HelloStatus parse_client_hello(std::span<const uint8_t> d, ClientHelloInfo& out) {
  out = ClientHelloInfo{};
  if (d.empty()) {
    out.needed = 5;
    return HelloStatus::incomplete;
  }
  if (d[0] != 0x16 || (d.size() > 1 && d[1] != 0x03)) return HelloStatus::not_tls;
  std::vector<uint8_t> handshake;  // the ClientHello may span several records
  size_t pos = 0;
  size_t total = 0;  // 4-byte header + body, once known
  for (;;) {
    if (d.size() < pos + 5) {
      out.needed = pos + 5;
      return HelloStatus::incomplete;
    }
    if (d[pos] != 0x16 || d[pos + 1] != 0x03) return HelloStatus::malformed;
    size_t len = (size_t{d[pos + 3]} << 8) | d[pos + 4];
    if (len == 0 || len > kMaxRecord) return HelloStatus::malformed;
    if (d.size() < pos + 5 + len) {
      out.needed = pos + 5 + len;
      return HelloStatus::incomplete;
    }
    handshake.insert(handshake.end(), d.begin() + static_cast<ptrdiff_t>(pos + 5),
                     d.begin() + static_cast<ptrdiff_t>(pos + 5 + len));
    pos += 5 + len;
    if (total == 0 && handshake.size() >= 4) {
      if (handshake[0] != 1) return HelloStatus::malformed;  // not a ClientHello
      total = 4 + ((size_t{handshake[1]} << 16) | (size_t{handshake[2]} << 8) | handshake[3]);
      if (total > kMaxHandshake) return HelloStatus::malformed;
    }
    if (total != 0 && handshake.size() >= total) break;
  }
  return parse_body(std::span<const uint8_t>(handshake).subspan(4, total - 4), out);
}

}  // namespace detail

namespace {

// The peer has sent FIN (everything it will ever send is already queued).
bool peer_finished(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void set_lowat(int fd, int value) { ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value); }

// Decides from the bytes seen so far; false = more bytes are needed (`want` updated).
bool classify(std::span<const uint8_t> data, bool final, const PeekLimits& limits, PeekResult& r,
              size_t& want) {
  detail::ClientHelloInfo info;
  switch (detail::parse_client_hello(data, info)) {
    case detail::HelloStatus::complete:
      r.kind = PeekResult::Kind::tls;
      r.sni = std::move(info.sni);
      r.alpn = std::move(info.alpn);
      return true;
    case detail::HelloStatus::incomplete:
      if (!final && info.needed <= limits.max_bytes) {
        want = info.needed;
        return false;
      }
      [[fallthrough]];
    default:
      r.kind = PeekResult::Kind::plain;
      return true;
  }
}

}  // namespace

awaitable<PeekResult> peek_client_hello(tcp::socket& socket, const PeekLimits& limits) {
  PeekResult r;
  const int fd = socket.native_handle();
  Watchdog dog(socket.get_executor());
  dog.watch(&socket);
  dog.arm(limits.timeout);
  std::vector<uint8_t> buf;
  size_t want = 1;
  int lowat = 1;
  for (;;) {
    // Peek first, wait only for what is still missing: SO_RCVLOWAT makes the wait complete
    // once `want` bytes are queued (or at FIN), not once per segment.
    buf.resize(std::min(limits.max_bytes, std::max<size_t>(want, 1024)));
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) {
      break;  // EOF before anything: closed
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    if (n > 0) {
      r.peeked = static_cast<size_t>(n);
      std::span<const uint8_t> seen(buf.data(), r.peeked);
      if (classify(seen, false, limits, r, want)) break;
      if (peer_finished(fd)) {
        classify(seen, true, limits, r, want);
        break;
      }
    }
    int need = static_cast<int>(std::max<size_t>(want, 1));
    if (need != lowat) set_lowat(fd, lowat = need);
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
    if (ec) {
      if (dog.expired() && r.peeked == 0) r.kind = PeekResult::Kind::silent;
      break;  // timeout in the middle of a ClientHello, or the connection went away
    }
  }
  if (lowat != 1) set_lowat(fd, 1);
  co_return r;
}

}  // namespace portier::proxy
