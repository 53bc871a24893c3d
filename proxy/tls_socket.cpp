#include "proxy/tls_socket.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>

#include <boost/asio/ssl/error.hpp>

namespace portier::proxy {

thread_local std::array<char, TlsSocket::kRecord> TlsSocket::scratch_;

namespace {

// A BIO over a socket descriptor that it does not own (its data: the TlsSocket's Io):
// non-blocking send/recv (the socket may still be in blocking mode for Asio), MSG_NOSIGNAL (a
// reset peer must not raise SIGPIPE).
TlsSocket::Io& io_of(BIO* bio) { return *static_cast<TlsSocket::Io*>(BIO_get_data(bio)); }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

int bio_write(BIO* bio, const char* data, int len) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do n = ::send(io_of(bio).fd, data, static_cast<size_t>(len), MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0 && would_block(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int len) {
  BIO_clear_retry_flags(bio);
  TlsSocket::Io& io = io_of(bio);
  ssize_t n;
  do n = ::recv(io.fd, data, static_cast<size_t>(len), MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0 && would_block(errno)) BIO_set_retry_read(bio);
  io.drained = n < len;
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "portier socket");
    if (!m) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

SSL* new_server_ssl(SSL_CTX* ctx, TlsSocket::Io& io) {
  const BIO_METHOD* method = socket_method();
  SSL* ssl = method ? SSL_new(ctx) : nullptr;
  BIO* bio = ssl ? BIO_new(method) : nullptr;
  if (!bio) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  BIO_set_data(bio, &io);
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by the SSL
  SSL_set_accept_state(ssl);
  SSL_set_read_ahead(ssl, 1);  // a whole request's records in one recv
  return ssl;
}

}  // namespace

TlsSocket::TlsSocket(tcp::socket socket, SSL_CTX* ctx)
    : socket_(std::move(socket)), io_{socket_.native_handle()}, ssl_(new_server_ssl(ctx, io_)) {}

TlsSocket::TlsSocket(TlsSocket&& other) noexcept
    : socket_(std::move(other.socket_)), io_(other.io_), ssl_(std::exchange(other.ssl_, nullptr)) {
  if (ssl_) BIO_set_data(SSL_get_rbio(ssl_), &io_);
}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

namespace {
// SSL_get_error reads the thread's error queue, which must be empty before each SSL call
// (other TLS code on the worker may leave errors behind). Peeking is cheaper than clearing
// its 16 slots every time.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}
}  // namespace

// A failure leaves the error queue empty.
TlsSocket::Want TlsSocket::failed(int ret, error_code& ec) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Want::read;
    case SSL_ERROR_WANT_WRITE:
      return Want::write;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      ec = saved_errno != 0 && ret < 0 ? error_code(saved_errno, boost::system::system_category())
                                       : error_code(asio::ssl::error::stream_truncated);
      break;
    default: {
      unsigned long err = ERR_peek_last_error();
      if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        ec = asio::ssl::error::stream_truncated;
      else
        ec = error_code(static_cast<int>(err), asio::error::get_ssl_category());
    }
  }
  ERR_clear_error();
  return Want::done;
}

TlsSocket::Want TlsSocket::handshake_step(error_code& ec) {
  if (!ssl_) {
    ec = asio::error::no_memory;
    return Want::done;
  }
  clear_errors();
  int r = SSL_do_handshake(ssl_);
  return r == 1 ? Want::done : failed(r, ec);
}

TlsSocket::Want TlsSocket::shutdown_step(error_code& ec) {
  clear_errors();
  int r = SSL_shutdown(ssl_);
  if (r == 0) r = SSL_shutdown(ssl_);  // ours is sent: read the peer's
  return r == 1 ? Want::done : failed(r, ec);
}

TlsSocket::Want TlsSocket::read_step(asio::mutable_buffer buf, error_code& ec, size_t& n) {
  if (buf.size() == 0) return Want::done;
  // The last recv emptied the socket: wait for bytes rather than try a recv that would say
  // EAGAIN (a wait re-arms the descriptor, so bytes that came since are not missed).
  if (io_.drained && !SSL_has_pending(ssl_)) {
    io_.drained = false;
    return Want::read;
  }
  clear_errors();
  int r = SSL_read_ex(ssl_, buf.data(), buf.size(), &n);
  return r == 1 ? Want::done : failed(r, ec);
}

TlsSocket::Want TlsSocket::write_step(asio::const_buffer buf, error_code& ec, size_t& n) {
  if (buf.size() == 0) return Want::done;
  clear_errors();
  int r = SSL_write_ex(ssl_, buf.data(), buf.size(), &n);
  return r == 1 ? Want::done : failed(r, ec);
}

}  // namespace portier::proxy
