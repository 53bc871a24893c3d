#pragma once
// HTTP/2 towards clients (RFC 9113) over a transport: TLS after ALPN "h2", or cleartext with
// prior knowledge (h2c). Requests are proxied to HTTP/1.1 upstreams from the worker's pool.
// Lives and dies on its worker, like Http1Session.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/asio.hpp"
#include "proxy/http2_connection.hpp"
#include "proxy/tls_socket.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {

using TlsStream = TlsSocket;

// Stream: tcp::socket (h2c) or TlsStream (handshake done, ALPN "h2", by the caller).
template <class Stream>
class Http2Session {
 public:
  Http2Session(Worker& worker, Stream stream, std::shared_ptr<const ListenerInfo> info,
               const tcp::endpoint& client,
               Watchdog::Clock::time_point head_by = Watchdog::Clock::time_point::max());

  // Serves the connection until it ends. `already_read`: bytes the caller took from the
  // stream before (the client preface, or part of it), fed first.
  awaitable<void> run(std::string_view already_read = {});

 private:
  awaitable<void> reader();
  awaitable<void> writer();

  static tcp::socket& raw(tcp::socket& s) { return s; }
  static tcp::socket& raw(TlsStream& s) { return s.next_layer(); }
  tcp::socket& sock() { return raw(stream_); }

  Stream stream_;
  Http2Connection conn_;  // after stream_: it refers to the socket
  std::unique_ptr<char[]> rbuf_;
  std::string wbuf_;
};

// The entry point for the TLS accept path (ALPN "h2") and for h2c. `already_read` must stay
// valid until the returned awaitable completes (co_await it where the bytes live).
// `head_by`: when the first request's HEADERS must have arrived (the entrypoint's
// headerTimeout from accept); the connection is closed with a GOAWAY after it. `client`: the
// peer, or the client a PROXY header named.
template <class Stream>
awaitable<void> serve_http2(Worker& worker, Stream stream, std::shared_ptr<const ListenerInfo> info,
                            const tcp::endpoint& client, std::string_view already_read = {},
                            Watchdog::Clock::time_point head_by = Watchdog::Clock::time_point::max());

// A cleartext connection: HTTP/2 when its first bytes are the client preface
// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (prior knowledge), else HTTP/1.1. Peeks, consumes nothing.
// The first request head must be complete by `head_by`. `slot` (maxConnections) is held as
// long as the connection lives, parked HTTP/1.1 keep-alive included.
awaitable<void> serve_cleartext(Worker& worker, tcp::socket socket,
                                std::shared_ptr<const ListenerInfo> info,
                                Watchdog::Clock::time_point head_by, ConnectionSlot slot,
                                const tcp::endpoint& client);

// Whether `peeked` (the first bytes of a connection) can only be the HTTP/2 client preface
// (true), cannot be (false), or is too short to tell (nullopt).
std::optional<bool> looks_like_h2_preface(std::string_view peeked);

}  // namespace portier::proxy
