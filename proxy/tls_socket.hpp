#pragma once
// The server side of a TLS connection of an HTTP entrypoint. OpenSSL reads and writes the
// socket itself (a BIO over the descriptor, non-blocking calls, read-ahead on) and the
// operations wait for readiness through the socket's reactor, as nginx does. Against
// asio::ssl::stream, whose engine moves every record through a memory BIO pair, this saves two
// copies of every record and the four 17 KiB buffers (the engine's two, the pair's two) that
// each connection held for its whole life: with SSL_MODE_RELEASE_BUFFERS an idle connection
// holds no record buffer, and the ones in use are malloc's recently freed (cache-warm) blocks.
//
// An AsyncStream for the sessions' templates (async_read_some, async_write_some,
// async_shutdown; errors as asio::ssl::stream reports them: eof after close_notify,
// ssl::error::stream_truncated without it). One read and one write may be outstanding at once
// (HTTP/2). Cancelling or closing next_layer() aborts a pending operation (the Watchdog).
// Worker thread only; completions are never invoked from inside the initiating call.
#include <openssl/ssl.h>

#include <array>
#include <type_traits>
#include <utility>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>

#include "proxy/asio.hpp"

namespace portier::proxy {

class TlsSocket {
 public:
  using executor_type = tcp::socket::executor_type;

  // Takes a reference to `ctx` (its callbacks run during the handshake). Without memory for
  // the SSL, the handshake fails.
  TlsSocket(tcp::socket socket, SSL_CTX* ctx);
  TlsSocket(TlsSocket&& other) noexcept;
  TlsSocket& operator=(TlsSocket&&) = delete;
  ~TlsSocket();

  executor_type get_executor() { return socket_.get_executor(); }
  tcp::socket& next_layer() { return socket_; }
  SSL* native_handle() { return ssl_; }

  // The BIO's state (its data pointer; moved with the socket).
  struct Io {
    int fd = -1;
    bool drained = false;  // the last recv left the socket empty
  };

  // The server handshake; void(error_code).
  template <class Token>
  auto async_handshake(Token&& token) {
    return start<false>(Handshake{}, std::forward<Token>(token));
  }
  // Sends close_notify, then waits for the peer's unless SSL_RECEIVED_SHUTDOWN is set;
  // void(error_code).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<false>(Shutdown{}, std::forward<Token>(token));
  }
  // void(error_code, size_t): into the first non-empty buffer of `buffers`.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return start<true>(Read{first_buffer<asio::mutable_buffer>(buffers)}, std::forward<Token>(token));
  }
  // void(error_code, size_t): one record of up to 16 KiB from the start of `buffers` (a
  // response head and its body go out together), or the whole first buffer when it is larger.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return start<true>(Write<ConstBuffers>{buffers}, std::forward<Token>(token));
  }

 private:
  // What one attempt of an operation asks for next.
  enum class Want { done, read, write };
  struct Handshake {
    Want operator()(TlsSocket& s, error_code& ec, size_t&) const { return s.handshake_step(ec); }
  };
  struct Shutdown {
    Want operator()(TlsSocket& s, error_code& ec, size_t&) const { return s.shutdown_step(ec); }
  };
  struct Read {
    asio::mutable_buffer buf;
    Want operator()(TlsSocket& s, error_code& ec, size_t& n) const { return s.read_step(buf, ec, n); }
  };
  template <class ConstBuffers>
  struct Write {
    ConstBuffers buffers;
    Want operator()(TlsSocket& s, error_code& ec, size_t& n) const {
      return s.write_step(linearise(buffers), ec, n);
    }
  };

  // Retries `attempt` after each readiness it asks for. The result of an attempt that
  // completes at once is posted (Asio's rule for initiating functions).
  template <bool Bytes, class Attempt>
  struct Op {
    TlsSocket& s;
    Attempt attempt;
    enum class State { first, waiting, posted } state = State::first;
    error_code ec{};
    size_t n = 0;

    template <class Self>
    void operator()(Self& self, error_code wait_ec = {}) {
      if (state == State::posted || wait_ec) return finish(self, wait_ec ? wait_ec : ec);
      Want want = attempt(s, ec, n);
      if (want == Want::done) {
        if (state == State::waiting) return finish(self, ec);
        state = State::posted;
        return asio::post(s.get_executor(), std::move(self));
      }
      state = State::waiting;
      s.socket_.async_wait(want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write,
                           std::move(self));
    }
    template <class Self>
    void finish(Self& self, error_code result) {
      if constexpr (Bytes)
        self.complete(result, result ? 0 : n);
      else
        self.complete(result);
    }
  };

  template <bool Bytes, class Attempt, class Token>
  auto start(Attempt attempt, Token&& token) {
    using Signature = std::conditional_t<Bytes, void(error_code, size_t), void(error_code)>;
    // No I/O object: the pending socket wait keeps the io_context running, and the handler
    // (on the worker) needs no work guard moved along with every step.
    return asio::async_compose<Token, Signature>(Op<Bytes, Attempt>{*this, std::move(attempt)}, token);
  }

  template <class Buffer, class Buffers>
  static Buffer first_buffer(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
      if (Buffer b(*it); b.size() > 0) return b;
    return Buffer();
  }
  // The first buffer when it is alone or already a full record; else the first 16 KiB of the
  // sequence copied into this thread's scratch block (the same bytes on every retry).
  template <class ConstBuffers>
  static asio::const_buffer linearise(const ConstBuffers& buffers) {
    auto first = first_buffer<asio::const_buffer>(buffers);
    if (first.size() >= kRecord || asio::buffer_size(buffers) == first.size()) return first;
    size_t n = asio::buffer_copy(asio::buffer(scratch_), buffers);
    return asio::buffer(scratch_.data(), n);
  }

  Want handshake_step(error_code& ec);
  Want shutdown_step(error_code& ec);
  Want read_step(asio::mutable_buffer buf, error_code& ec, size_t& n);
  Want write_step(asio::const_buffer buf, error_code& ec, size_t& n);
  // The readiness an SSL call that returned `ret` <= 0 waits for, or done with `ec` set.
  Want failed(int ret, error_code& ec);

  static constexpr size_t kRecord = 16384;  // TLS's largest record payload
  static thread_local std::array<char, kRecord> scratch_;

  tcp::socket socket_;
  Io io_;
  SSL* ssl_ = nullptr;
};

}  // namespace portier::proxy
