#pragma once
// The TLS side of the HTTP entrypoints: the server context built from the certificate store
// and tls.options (tls::ServerContext), wrapped for asio's ssl::stream. Immutable once
// published; connections keep the one they started with.
#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "tls/server_context.hpp"

namespace portier::proxy {

struct TlsContext {
  std::shared_ptr<tls::ServerContext> server;
  std::unique_ptr<boost::asio::ssl::context> asio;  // shares server->native()
};

std::shared_ptr<TlsContext> make_tls_context(std::shared_ptr<tls::ServerContext> server);

}  // namespace portier::proxy
