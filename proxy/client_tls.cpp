#include "proxy/client_tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls/openssl_ptr.hpp"

namespace portier::proxy {

std::unique_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& label, bool insecure_skip_verify,
                                                                   const std::vector<std::string>& root_cas,
                                                                   std::string_view alpn,
                                                                   std::vector<std::string>* problems) {
  auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!alpn.empty())
    SSL_CTX_set_alpn_protos(native, reinterpret_cast<const unsigned char*>(alpn.data()),
                            static_cast<unsigned>(alpn.size()));
  if (insecure_skip_verify) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(native);  // no system roots: rootCAs alone may still do
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  for (const auto& source : root_cas) {
    std::string pem, error;
    std::string what = tls::looks_like_pem(source) ? "inline certificate" : source;
    if (!tls::read_pem_source(source, pem, error)) {
      if (problems) problems->push_back(label + ": rootCAs " + what + ": " + error);
      continue;
    }
    auto certs = tls::load_certificates_pem(pem, error);
    if (certs.empty() && problems) problems->push_back(label + ": rootCAs " + what + ": " + error);
    for (auto& c : certs) X509_STORE_add_cert(store, c.get());  // duplicates are ignored
  }
  return ctx;
}

std::string use_client_certificate(boost::asio::ssl::context& context, const std::string& cert,
                                   const std::string& key) {
  SSL_CTX* ctx = context.native_handle();
  std::string pem, error;
  if (!tls::read_pem_source(cert, pem, error)) return "cert: " + error;
  auto chain = tls::load_certificates_pem(pem, error);
  if (chain.empty()) return "cert: " + error;
  if (!tls::read_pem_source(key, pem, error)) return "key: " + error;
  auto pkey = tls::load_private_key_pem(pem, error);
  if (!pkey) return "key: " + error;
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) return "cert: " + tls::openssl_errors();
  for (size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) return "cert: " + tls::openssl_errors();
  if (SSL_CTX_use_PrivateKey(ctx, pkey.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return "key: does not match the certificate";
  return "";
}

void set_server_name(SSL* ssl, const std::string& name, bool name_is_ip, bool verify) {
  if (!name_is_ip && !name.empty()) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!verify) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (name_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  }
}

std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
  std::string why = "TLS handshake: " + ec.message();
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  return why;
}

}  // namespace portier::proxy
