#include "proxy/upstream_conn.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.hpp"
#include "proxy/client_tls.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {
namespace {

const std::shared_ptr<const UpstreamTransport>& default_transport() {
  static const std::shared_ptr<const UpstreamTransport> t = std::make_shared<UpstreamTransport>();
  return t;
}

}  // namespace

UpstreamConn::UpstreamConn(asio::any_io_executor ex, const UpstreamServer& server)
    : transport_(server.transport ? server.transport : default_transport()), socket_(std::move(ex)) {
  if (server.scheme == "https" && transport_->tls)
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *transport_->tls);
  else if (server.scheme == "h2c")
    h2c_ = std::make_unique<H2cChannel>(socket_);
}

UpstreamConn::~UpstreamConn() = default;

awaitable<std::string> UpstreamConn::connect(const UpstreamServer& server, tcp::endpoint endpoint) {
  if (server.scheme == "https" && !tls_) co_return "no TLS context for https";
  auto [ec] = co_await socket_.async_connect(endpoint, use_tuple);
  if (ec) co_return "connect: " + ec.message();
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  if (h2c_) co_return h2c_->open() ? std::string() : std::string("h2c: cannot create the HTTP/2 session");
  if (!tls_) co_return std::string();
  SSL* ssl = tls_->native_handle();
  set_server_name(ssl, server.tls_name, server.tls_name_is_ip, !transport_->insecure_skip_verify);
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!hec) co_return std::string();
  co_return handshake_failure(ssl, hec);
}

bool UpstreamConn::usable_when_idle() {
  if (h2c_) return h2c_->usable_when_idle();
  // Nothing may be readable (EAGAIN): EOF or stray bytes mean the server closed the
  // connection or broke framing (for TLS: a close_notify or an alert).
  char byte;
  ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool upstream_supported(const UpstreamServer& server) {
  if (server.scheme == "http" || server.scheme == "https" || server.scheme == "h2c") return true;
  core::log_warn("upstream ", server.url, ": ", server.scheme, " upstreams not supported");
  return false;
}

void log_dial_failure(const UpstreamServer& server, const std::string& why) {
  if (why.rfind("TLS", 0) == 0 || why.rfind("no TLS", 0) == 0)
    core::log_warn("upstream ", server.url, ": ", why);
  else
    core::log_debug("dial ", server.url, " failed: ", why);
}

}  // namespace portier::proxy
