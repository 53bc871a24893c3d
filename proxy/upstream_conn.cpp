#include "proxy/upstream_conn.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/log.hpp"
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
  const std::string& name = server.tls_name;
  if (!server.tls_name_is_ip && !name.empty()) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!transport_->insecure_skip_verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (server.tls_name_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
  }
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!hec) co_return std::string();
  std::string why = "TLS handshake: " + hec.message();
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  co_return why;
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
