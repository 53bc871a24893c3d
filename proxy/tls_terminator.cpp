#include "proxy/tls_terminator.hpp"

#include <boost/asio/ssl/stream.hpp>

#include "core/log.hpp"
#include "proxy/watchdog.hpp"

namespace portier::proxy {
namespace {

class TlsClientStream final : public TcpClientStream {
 public:
  TlsClientStream(asio::ssl::stream<tcp::socket> stream, std::shared_ptr<const TlsContext> ctx)
      : stream_(std::move(stream)), ctx_(std::move(ctx)) {}

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

 private:
  asio::ssl::stream<tcp::socket> stream_;
  std::shared_ptr<const TlsContext> ctx_;  // keeps the SSL_CTX's callbacks alive
};

}  // namespace

TlsTerminator make_tls_terminator(core::Snapshot<TlsContext>& contexts, std::chrono::milliseconds handshake_timeout) {
  return [&contexts, handshake_timeout](tcp::socket client, const TcpRouteRuntime&,
                                        const PeekResult&) -> awaitable<std::unique_ptr<TcpClientStream>> {
    std::shared_ptr<const TlsContext> ctx = contexts.load();
    if (!ctx) co_return nullptr;
    asio::ssl::stream<tcp::socket> stream(std::move(client), *ctx->asio);
    Watchdog watchdog(stream.get_executor());
    watchdog.watch(&stream.next_layer());
    watchdog.arm(handshake_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    watchdog.disarm();
    if (ec) {
      core::log_debug("TLS handshake (TCP router) failed: ", ec.message());
      co_return nullptr;
    }
    std::unique_ptr<TcpClientStream> out = std::make_unique<TlsClientStream>(std::move(stream), ctx);
    co_return out;
  };
}

}  // namespace portier::proxy
