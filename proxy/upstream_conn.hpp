#pragma once
// One connection to an upstream server as the sessions see it: a byte stream that carries
// HTTP/1.1 both ways, whatever the transport on the wire. Owned by one session at a time or
// by its worker's pool; worker thread only (the health checker uses its own, on the control
// thread).
//
// read_some/write return the awaitable of the underlying Asio operation directly, so the
// plain-TCP path costs what a bare socket costs (no extra coroutine frame).
#include <chrono>
#include <string>
#include <tuple>

#include "proxy/asio.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class UpstreamConn {
 public:
  using IoResult = std::tuple<error_code, size_t>;

  explicit UpstreamConn(asio::any_io_executor ex) : socket_(ex) {}
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  // The TCP socket under any transport: for watchdogs (cancel), readiness peeks and close.
  tcp::socket& socket() { return socket_; }

  awaitable<IoResult> read_some(asio::mutable_buffer b) { return socket_.async_read_some(b, use_tuple); }
  // Writes all of `b` (a ConstBufferSequence; copied into the operation).
  template <class ConstBuffers>
  awaitable<IoResult> write(const ConstBuffers& b) {
    return asio::async_write(socket_, b, use_tuple);
  }
  // No more bytes from us (tunnels pass a client's half-close on).
  void shutdown_send() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  IoBuffer buf;     // response bytes read but not yet relayed
  std::string key;  // pool key (UpstreamServer::pool_key)
  std::chrono::steady_clock::time_point idle_since;
  bool reused = false;

 private:
  tcp::socket socket_;
};

}  // namespace portier::proxy
