#include "proxy/tls_terminator.hpp"

#include <boost/asio/ssl/stream.hpp>

#include "core/log.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/watchdog.hpp"

namespace portier::proxy {
TlsTerminator make_tls_terminator(core::Snapshot<TlsContext>& contexts, std::chrono::milliseconds handshake_timeout) {
  return [&contexts, handshake_timeout](tcp::socket client, const TcpRouteRuntime*,
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
    std::unique_ptr<TcpClientStream> out = std::make_unique<TlsStream<tcp::socket>>(std::move(stream), ctx);
    co_return out;
  };
}

}  // namespace portier::proxy
