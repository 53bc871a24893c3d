// `passTLSClientCert`: passes the client's TLS certificate (X-Forwarded-Tls-Client-Cert) and
// selected fields of it (X-Forwarded-Tls-Client-Cert-Info) to the backend, formatted as
// Traefik does (tls/client_cert_header.hpp). The certificate is read from the connection's
// SSL only when a request reaches this middleware.
#include "proxy/middleware.hpp"
#include "tls/client_cert_header.hpp"

namespace portier::proxy {
namespace {

constexpr const char* kCertHeader = "X-Forwarded-Tls-Client-Cert";
constexpr const char* kInfoHeader = "X-Forwarded-Tls-Client-Cert-Info";

class PassTlsClientCert final : public Middleware {
 public:
  explicit PassTlsClientCert(config::PassTlsClientCertMw spec) : spec_(std::move(spec)) {}

  // Without a client certificate the headers this middleware writes are removed, so a backend
  // never takes a header the client wrote for one portier vouches for (Traefik lets it through).
  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits&) const override {
    std::vector<X509*> certs = tls::peer_certificates(ctx.ssl);
    if (spec_.pem) {
      if (certs.empty())
        request.headers.remove_header(kCertHeader);
      else
        request.headers.set_header(kCertHeader, tls::client_cert_pem_header(certs));
    }
    if (spec_.info) {
      if (certs.empty())
        request.headers.remove_header(kInfoHeader);
      else
        request.headers.set_header(kInfoHeader, tls::client_cert_info_header(certs, *spec_.info));
    }
    return std::nullopt;
  }

 private:
  config::PassTlsClientCertMw spec_;
};

}  // namespace

MiddlewarePtr make_pass_tls_client_cert_middleware(const config::PassTlsClientCertMw& spec) {
  return std::make_shared<PassTlsClientCert>(spec);
}

}  // namespace portier::proxy
