#include "proxy/tls_context.hpp"

namespace portier::proxy {

std::shared_ptr<TlsContext> make_tls_context(std::shared_ptr<tls::ServerContext> server) {
  auto out = std::make_shared<TlsContext>();
  SSL_CTX_up_ref(server->native());  // asio's context frees its reference on destruction
  out->asio = std::make_unique<boost::asio::ssl::context>(server->native());
  out->server = std::move(server);
  return out;
}

}  // namespace portier::proxy
