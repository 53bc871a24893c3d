#pragma once
// A TLS stream as the TCP relay sees it (TcpClientStream): the client side of a TCP router that
// terminates TLS (Next = tcp::socket, owned) and the server side of a TCP service whose servers
// have `tls: true` (Next = tcp::socket&, the session's backend socket). Worker thread only.
#include <memory>
#include <utility>

#include <boost/asio/ssl/stream.hpp>

#include "proxy/tcp_session.hpp"

namespace portier::proxy {

template <class Next>
class TlsStream final : public TcpClientStream {
 public:
  // `keep` is held for the stream's life (e.g. the snapshot that owns the SSL_CTX's callbacks).
  TlsStream(asio::ssl::stream<Next> stream, std::shared_ptr<const void> keep)
      : stream_(std::move(stream)), keep_(std::move(keep)) {}

  awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer buf) override {
    co_return co_await stream_.async_read_some(buf, use_tuple);
  }
  awaitable<std::tuple<error_code, size_t>> write_some(asio::const_buffer buf) override {
    co_return co_await stream_.async_write_some(buf, use_tuple);
  }
  awaitable<void> shutdown_send() override {
    co_await stream_.async_shutdown(use_tuple);  // close_notify
    error_code ec;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ec);
  }
  tcp::socket& socket() override { return stream_.next_layer(); }
  asio::ssl::stream<Next>& ssl() { return stream_; }  // e.g. for the handshake

 private:
  asio::ssl::stream<Next> stream_;
  std::shared_ptr<const void> keep_;
};

}  // namespace portier::proxy
