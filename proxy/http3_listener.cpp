#include "proxy/http3_listener.hpp"

#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "core/log.hpp"
#include "proxy/http3_connection.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

std::string cid_key(const uint8_t* data, size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }
std::string cid_key(const ngtcp2_cid& cid) { return cid_key(cid.data, cid.datalen); }

constexpr ngtcp2_duration kRetryTokenLife = 10ULL * NGTCP2_SECONDS;

ngtcp2_tstamp now_ns() {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

std::shared_ptr<const QuicSecrets> QuicSecrets::generate() {
  auto out = std::make_shared<QuicSecrets>();
  if (RAND_bytes(out->reset.data(), static_cast<int>(out->reset.size())) != 1 ||
      RAND_bytes(out->token.data(), static_cast<int>(out->token.size())) != 1)
    throw std::runtime_error("no random bytes for the QUIC secrets");
  return out;
}

Http3Listener::Http3Listener(Worker& worker, udp::socket socket, std::shared_ptr<const ListenerInfo> info,
                             const tls::CertStore& store, Http3ListenerOptions options)
    : worker_(worker), socket_(std::move(socket)), info_(std::move(info)),
      credentials_(store,
                   [&worker](std::string_view sni) -> tls::TlsPolicyPtr {
                     const auto& ctx = worker.tls_context();
                     return ctx && ctx->server ? ctx->server->policy_for(sni) : nullptr;
                   }),
      options_(options) {
  error_code ec;
  local_ = socket_.local_endpoint(ec);
  if (!options_.open_connections) options_.open_connections = std::make_shared<std::atomic<size_t>>(0);
  if (!options_.secrets) options_.secrets = QuicSecrets::generate();
}

Http3Listener::~Http3Listener() = default;

const std::string& Http3Listener::entry_point() const { return info_->entry_point.name; }

udp::endpoint Http3Listener::local_endpoint() const { return local_; }

void Http3Listener::start() {
  error_code ignored;
  socket_.non_blocking(true, ignored);  // packets are sent synchronously; a full buffer drops
  asio::co_spawn(socket_.get_executor(), receive_loop(), asio::detached);
}

void Http3Listener::drain() {
  draining_ = true;
  std::vector<std::shared_ptr<Http3Connection>> open;
  for (auto& [p, c] : connections_) open.push_back(c);
  for (auto& c : open) c->drain();
}

void Http3Listener::stop() {
  draining_ = true;
  std::vector<std::shared_ptr<Http3Connection>> open;
  for (auto& [p, c] : connections_) open.push_back(c);
  for (auto& c : open) c->close();
  error_code ignored;
  socket_.close(ignored);
}

awaitable<void> Http3Listener::receive_loop() {
  std::vector<uint8_t> buf(65536);
  udp::endpoint from;
  for (;;) {
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, use_tuple);
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || !socket_.is_open()) co_return;
    if (ec) continue;  // ICMP errors surface here: nothing to do for the socket
    dispatch(std::span<const uint8_t>(buf.data(), n), from);
  }
}

// A datagram goes to the connection its destination ID names; an unknown ID may open one
// (long header), or is told that its connection is gone (short header: a stateless reset).
// A first packet in a QUIC version ngtcp2 does not speak gets a Version Negotiation.
void Http3Listener::dispatch(std::span<const uint8_t> data, const udp::endpoint& from) {
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data.data(), data.size(), Http3Connection::kScidLen);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(vc, from);
    return;
  }
  if (rv != 0) return;
  auto it = by_cid_.find(cid_key(vc.dcid, vc.dcidlen));
  if (it != by_cid_.end()) {
    auto conn = connections_.at(it->second);  // kept alive while it handles the datagram
    conn->on_datagram(data, from);
    return;
  }
  if ((data[0] & 0x80) == 0) {  // a short header: a connection this listener does not hold (any more)
    send_stateless_reset(vc, data.size(), from);
    return;
  }
  accept(data, from);
}

// RFC 9000 6.1. ngtcp2 reports a version to negotiate only for a datagram of at least 1,200
// bytes (a client's first), so the answer is never larger than what caused it.
void Http3Listener::send_version_negotiation(const ngtcp2_version_cid& vc, const udp::endpoint& from) {
  uint8_t unused = 0;
  RAND_bytes(&unused, 1);
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  std::array<uint8_t, 1280> packet;  // the two IDs of an unknown version may be 255 bytes each
  auto n = ngtcp2_pkt_write_version_negotiation(packet.data(), packet.size(), unused, vc.scid, vc.scidlen,
                                                vc.dcid, vc.dcidlen, versions, std::size(versions));
  if (n > 0) send(from, std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
}

// RFC 9000 10.3: the reset token of the packet's destination ID (the one the connection sent
// in its NEW_CONNECTION_ID frames or transport parameters, from the process's secret), after
// random bytes that make it look like a short-header packet. Always shorter than the packet
// that caused it, so two endpoints cannot make each other reset in a loop; a packet too short
// for that gets nothing.
void Http3Listener::send_stateless_reset(const ngtcp2_version_cid& vc, size_t received,
                                         const udp::endpoint& from) {
  constexpr size_t kMaxRandom = NGTCP2_MAX_CIDLEN + 22 - NGTCP2_STATELESS_RESET_TOKENLEN;
  if (vc.dcidlen != Http3Connection::kScidLen || received <= NGTCP2_STATELESS_RESET_TOKENLEN + 1) return;
  size_t random_len = std::min(kMaxRandom, received - 1 - NGTCP2_STATELESS_RESET_TOKENLEN);
  if (random_len < NGTCP2_MIN_STATELESS_RESET_RANDLEN) return;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, vc.dcid, vc.dcidlen);
  std::array<uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token;
  std::array<uint8_t, kMaxRandom> random;
  if (!reset_token(token.data(), cid) || RAND_bytes(random.data(), static_cast<int>(random_len)) != 1) return;
  std::array<uint8_t, kMaxRandom + NGTCP2_STATELESS_RESET_TOKENLEN + 1> packet;
  auto n = ngtcp2_pkt_write_stateless_reset(packet.data(), packet.size(), token.data(), random.data(), random_len);
  if (n > 0) send(from, std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
}

// A client's first packet opens a connection, counted against the entrypoint's cap (shared
// with the other workers' listeners: a place is taken with fetch_add, so two workers cannot
// both take the last one).
void Http3Listener::accept(std::span<const uint8_t> data, const udp::endpoint& from) {
  auto& open = *options_.open_connections;
  if (draining_ || open.load(std::memory_order_relaxed) >= options_.max_connections) return;
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data.data(), data.size()) != 0) return;  // not a client's first packet
  ngtcp2_cid odcid;
  const ngtcp2_cid* validated = nullptr;
  const auto& token_secret = options_.secrets->token;
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token.base, hd.token.len, token_secret.data(),
                                         token_secret.size(), hd.version, from.data(),
                                         static_cast<ngtcp2_socklen>(from.size()), &hd.dcid, kRetryTokenLife,
                                         now_ns()) != 0)
      return;  // forged, expired, or from another address
    validated = &odcid;
  } else if (open.load(std::memory_order_relaxed) >= options_.retry_from) {
    send_retry(hd, from);
    return;
  }
  if (open.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections) {
    open.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  auto conn = std::make_shared<Http3Connection>(*this, info_, local_, from);
  if (!conn->open(hd, validated)) {
    open.fetch_sub(1, std::memory_order_relaxed);
    forget(conn.get());
    return;
  }
  connections_.emplace(conn.get(), conn);
  live_.store(connections_.size(), std::memory_order_relaxed);
  conn->on_datagram(data, from);
}

// A Retry with a token binding the client's address and first connection ID (RFC 9000 8.1.2).
// Its new ID steers the client's next Initial back to this socket.
void Http3Listener::send_retry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from) {
  ngtcp2_cid scid;
  if (!new_cid(scid, Http3Connection::kScidLen)) return;
  std::array<uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token;
  const auto& secret = options_.secrets->token;
  auto token_len = ngtcp2_crypto_generate_retry_token(token.data(), secret.data(), secret.size(),
                                                      hd.version, from.data(),
                                                      static_cast<ngtcp2_socklen>(from.size()), &scid, &hd.dcid,
                                                      now_ns());
  if (token_len < 0) return;
  std::array<uint8_t, 1280> packet;
  auto n = ngtcp2_crypto_write_retry(packet.data(), packet.size(), hd.version, &hd.scid, &scid, &hd.dcid,
                                     token.data(), static_cast<size_t>(token_len));
  if (n > 0) send(from, std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
}

void Http3Listener::send(const udp::endpoint& to, std::span<const uint8_t> data) {
  error_code ec;
  socket_.send_to(asio::buffer(data.data(), data.size()), to, 0, ec);
}

bool Http3Listener::reset_token(uint8_t* token, const ngtcp2_cid& cid) const {
  const auto& secret = options_.secrets->reset;
  return ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), &cid) == 0;
}

bool Http3Listener::new_cid(ngtcp2_cid& cid, size_t len) const {
  if (len > NGTCP2_MAX_CIDLEN || !options_.steering.new_cid(cid.data, len)) return false;
  cid.datalen = len;
  return true;
}

void Http3Listener::associate(const ngtcp2_cid& cid, Http3Connection* conn) { by_cid_[cid_key(cid)] = conn; }

void Http3Listener::dissociate(const ngtcp2_cid& cid) { by_cid_.erase(cid_key(cid)); }

void Http3Listener::forget(Http3Connection* conn) {
  std::erase_if(by_cid_, [conn](const auto& entry) { return entry.second == conn; });
  if (connections_.erase(conn) != 0) options_.open_connections->fetch_sub(1, std::memory_order_relaxed);
  live_.store(connections_.size(), std::memory_order_relaxed);
}

}  // namespace portier::proxy
