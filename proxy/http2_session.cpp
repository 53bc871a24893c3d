#include "proxy/http2_session.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <type_traits>

#include "proxy/http1_session.hpp"

namespace portier::proxy {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kReadSize = 16384;
constexpr size_t kWriteBatch = 65536;

}  // namespace

template <class Stream>
Http2Session<Stream>::Http2Session(Worker& worker, Stream stream,
                                   std::shared_ptr<const ListenerInfo> info,
                                   const tcp::endpoint& client, Watchdog::Clock::time_point head_by)
    : stream_(std::move(stream)), conn_(worker, raw(stream_), std::move(info), client) {
  if constexpr (std::is_same_v<Stream, TlsStream>) conn_.set_handshake(stream_.native_handle());
  conn_.set_first_request_deadline(head_by);
}

template <class Stream>
awaitable<void> Http2Session<Stream>::run(std::string_view already_read) {
  using namespace boost::asio::experimental::awaitable_operators;
  if (conn_.open()) {
    rbuf_.reset(new char[kReadSize]);
    bool go_on = already_read.empty() || conn_.feed(already_read);
    if (!go_on) conn_.read_ended();
    co_await (reader() && writer());
  }
  conn_.close_streams();
  co_await conn_.wait_exchanges();
  error_code ec;
  sock().close(ec);
}

template <class Stream>
awaitable<void> Http2Session<Stream>::reader() {
  while (!conn_.read_closed()) {
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(rbuf_.get(), kReadSize), use_tuple);
    if (ec) {
      conn_.read_ended();
      break;
    }
    if (!conn_.feed(std::string_view(rbuf_.get(), n))) {
      conn_.read_ended();
      break;
    }
  }
}

// Flushes nghttp2's output; stops when the session is over or the read side ended and
// everything queued is written. Then it cancels the reader.
template <class Stream>
awaitable<void> Http2Session<Stream>::writer() {
  for (;;) {
    wbuf_.clear();
    if (!conn_.pull(wbuf_, kWriteBatch)) break;
    if (!wbuf_.empty()) {
      conn_.set_writing(true);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(wbuf_), use_tuple);
      conn_.set_writing(false);
      if (ec) break;
      continue;
    }
    if (!conn_.wants_io() || conn_.read_closed()) break;
    co_await conn_.wait_for_output();
  }
  wbuf_.clear();
  wbuf_.shrink_to_fit();
  conn_.read_ended();
  error_code ec;
  sock().cancel(ec);
}

template <class Stream>
awaitable<void> serve_http2(Worker& worker, Stream stream, std::shared_ptr<const ListenerInfo> info,
                            const tcp::endpoint& client, std::string_view already_read,
                            Watchdog::Clock::time_point head_by) {
  Http2Session<Stream> session(worker, std::move(stream), std::move(info), client, head_by);
  co_await session.run(already_read);
}

std::optional<bool> looks_like_h2_preface(std::string_view peeked) {
  size_t n = std::min(peeked.size(), kPreface.size());
  if (peeked.substr(0, n) != kPreface.substr(0, n)) return false;
  // "P" alone could start POST, PUT or PATCH; "PRI " cannot be an HTTP/1.1 method we serve.
  if (n < 4) return std::nullopt;
  return true;
}

awaitable<void> serve_cleartext(Worker& worker, tcp::socket socket,
                                std::shared_ptr<const ListenerInfo> info,
                                Watchdog::Clock::time_point head_by, ConnectionSlot slot,
                                const tcp::endpoint& client) {
  bool h2 = false;
  {
    Watchdog watchdog(socket.get_executor());
    watchdog.watch(&socket);
    watchdog.arm(head_by - Watchdog::Clock::now());
    for (;;) {
      auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
      if (ec) co_return;
      std::array<char, kPreface.size()> peek;
      ssize_t n = ::recv(socket.native_handle(), peek.data(), peek.size(), MSG_PEEK | MSG_DONTWAIT);
      if (n <= 0) break;  // EOF or error: HTTP/1.1 sees it
      auto verdict = looks_like_h2_preface(std::string_view(peek.data(), static_cast<size_t>(n)));
      if (verdict) {
        h2 = *verdict;
        break;
      }
      // A tiny first segment ("P"): readable again at once, so wait a moment for more.
      asio::steady_timer pause(socket.get_executor(), std::chrono::milliseconds(5));
      co_await pause.async_wait(use_tuple);
      if (watchdog.expired()) co_return;
    }
  }
  if (h2) {
    co_await serve_http2(worker, std::move(socket), std::move(info), client, {}, head_by);
  } else {
    auto session = std::make_unique<Http1Session<tcp::socket>>(worker, std::move(socket), std::move(info), client);
    session->set_head_deadline(head_by);
    session->hold(std::move(slot));
    co_await Http1Session<tcp::socket>::run(std::move(session));
  }
}

template class Http2Session<tcp::socket>;
template class Http2Session<TlsStream>;
template awaitable<void> serve_http2<tcp::socket>(Worker&, tcp::socket,
                                                  std::shared_ptr<const ListenerInfo>, const tcp::endpoint&,
                                                  std::string_view, Watchdog::Clock::time_point);
template awaitable<void> serve_http2<TlsStream>(Worker&, TlsStream,
                                                std::shared_ptr<const ListenerInfo>, const tcp::endpoint&,
                                                std::string_view, Watchdog::Clock::time_point);

}  // namespace portier::proxy
