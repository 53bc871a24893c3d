#include "proxy/tcp_transport.hpp"

#include "proxy/client_tls.hpp"

namespace portier::proxy {

std::shared_ptr<const TcpTransport> make_tcp_transport(const std::string& name, const config::TcpServersTransport& cfg,
                                                       bool with_tls, std::vector<std::string>* problems) {
  auto t = std::make_shared<TcpTransport>();
  t->name = name;
  t->dial_timeout = cfg.dial_timeout;
  // Go's net.Dialer: 0 means the default interval (15 s), negative turns keep-alive off.
  t->keep_alive = cfg.dial_keep_alive.count() == 0 ? std::chrono::milliseconds(15000) : cfg.dial_keep_alive;
  if (!with_tls) return t;
  static const config::TcpClientTls kNone;
  const config::TcpClientTls& tls = cfg.tls ? *cfg.tls : kNone;
  t->server_name = tls.server_name;
  t->insecure_skip_verify = tls.insecure_skip_verify;
  const std::string label = "tcp serversTransport " + name;
  t->tls = make_client_tls_context(label, tls.insecure_skip_verify, tls.root_cas, "", problems);
  if (!tls.certificates.empty()) {
    const config::TlsCertificate& c = tls.certificates.front();
    std::string why = use_client_certificate(*t->tls, c.cert_file, c.key_file);
    if (!why.empty() && problems) problems->push_back(label + ": certificates[0] " + why);
  }
  return t;
}

}  // namespace portier::proxy
