#pragma once
// One connection to an upstream server as the sessions see it: a byte stream that carries
// HTTP/1.1 both ways, whatever the transport on the wire (plain TCP for http://, TLS for
// https://, HTTP/2 with prior knowledge for h2c://, see H2cChannel). Owned by one session at a time or by its worker's pool; worker thread only (the
// health checker makes its own, on the control thread).
//
// read_some/write start the underlying Asio operation directly, so the plain-TCP path costs
// what a bare socket costs (no extra coroutine frame, no allocation beyond Asio's recycled
// operation).
#include <chrono>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <boost/asio/ssl/stream.hpp>

#include "proxy/asio.hpp"
#include "proxy/io_buffer.hpp"
#include "proxy/upstream_h2c.hpp"
#include "proxy/upstream_transport.hpp"

namespace portier::proxy {

struct UpstreamServer;

class UpstreamConn {
 public:
  using IoResult = std::tuple<error_code, size_t>;

  // A connection for `server` (not connected yet): TLS when its scheme is https.
  UpstreamConn(asio::any_io_executor ex, const UpstreamServer& server);
  ~UpstreamConn();
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  // Connects to `endpoint` and, for TLS, handshakes (SNI, chain and name verification).
  // "" on success, else why it failed (for the log). The caller bounds it (dial timeout) by
  // cancelling socket().
  awaitable<std::string> connect(const UpstreamServer& server, tcp::endpoint endpoint);

  // The TCP socket under any transport: for watchdogs (cancel), readiness peeks and close.
  tcp::socket& socket() { return socket_; }
  bool tls() const { return tls_ != nullptr; }
  bool h2c() const { return h2c_ != nullptr; }
  const UpstreamTransport& transport() const { return *transport_; }

  // co_await read_some(b) / write(b): a std::tuple<error_code, size_t>. Plain TCP and TLS
  // start the socket's operation directly; h2c runs the channel's coroutine.
  auto read_some(asio::mutable_buffer b) {
    return asio::async_initiate<decltype(use_tuple), void(error_code, size_t)>(
        [this](auto handler, asio::mutable_buffer b) {
          if (tls_) return tls_->async_read_some(b, std::move(handler));
          if (h2c_) return complete_with(h2c_->read_some(b), std::move(handler));
          socket_.async_read_some(b, std::move(handler));
        },
        use_tuple, b);
  }
  // Writes all of `b` (a ConstBufferSequence; copied into the operation).
  template <class ConstBuffers>
  auto write(const ConstBuffers& b) {
    return asio::async_initiate<decltype(use_tuple), void(error_code, size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_) return asio::async_write(*tls_, b, std::move(handler));
          if (h2c_) {
            std::vector<asio::const_buffer> copy(asio::buffer_sequence_begin(b), asio::buffer_sequence_end(b));
            return complete_with(h2c_->write(std::move(copy)), std::move(handler));
          }
          asio::async_write(socket_, b, std::move(handler));
        },
        use_tuple, b);
  }
  // For the pool: the idle connection can carry another request (nothing unexpected arrived,
  // the server did not close it).
  bool usable_when_idle();
  // Entering the pool: the connection keeps no buffer while idle.
  void release_buffers() {
    buf.release_if_empty();
    if (h2c_) h2c_->release_buffers();
  }
  // How long the response head may take: the transport's responseHeaderTimeout, else `fallback`.
  std::chrono::milliseconds head_timeout(std::chrono::milliseconds fallback) const {
    auto t = transport_->response_header_timeout;
    return t.count() > 0 ? t : fallback;
  }
  // No more bytes from us (tunnels pass a client's half-close on). TLS: TCP half-close, no
  // close_notify (a TLS 1.2 peer would answer it by closing both ways).
  void shutdown_send() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  IoBuffer buf;     // response bytes read but not yet relayed
  std::string key;  // pool key (UpstreamServer::pool_key)
  std::chrono::steady_clock::time_point idle_since;
  bool reused = false;

 private:
  // Runs an h2c channel operation and hands its result to an Asio completion handler.
  template <class Handler>
  void complete_with(awaitable<IoResult> op, Handler handler) {
    asio::co_spawn(socket_.get_executor(), std::move(op),
                   [handler = std::move(handler)](std::exception_ptr e, IoResult r) mutable {
                     if (e) r = {asio::error::operation_aborted, 0};
                     std::move(handler)(std::get<0>(r), std::get<1>(r));
                   });
  }

  std::shared_ptr<const UpstreamTransport> transport_;  // keeps the SSL_CTX alive
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::unique_ptr<H2cChannel> h2c_;
};

// Whether the sessions can forward to `server` (its scheme has a transport). Logs when not.
bool upstream_supported(const UpstreamServer& server);

// Logs a failed dial: TLS failures (a configuration problem the operator must see) as
// warnings naming the server and the reason; refused or unreachable servers at debug level.
void log_dial_failure(const UpstreamServer& server, const std::string& why);

}  // namespace portier::proxy
