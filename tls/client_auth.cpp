#include "tls/client_auth.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>

#include "tls/openssl_ptr.hpp"

namespace portier::tls {

namespace {

ClientAuthType parse_type(const config::TlsOptions& options) {
  const std::string& t = options.client_auth_type;
  if (t == "NoClientCert") return ClientAuthType::none;
  if (t == "RequestClientCert") return ClientAuthType::request;
  if (t == "RequireAnyClientCert") return ClientAuthType::require_any;
  if (t == "VerifyClientCertIfGiven") return ClientAuthType::verify_if_given;
  // "RequireAndVerifyClientCert", and "" with caFiles (Traefik's default then). An unknown
  // name cannot pass the schema's choices; if one did, the strictest type is the safe reading.
  if (t.empty() && options.client_ca_files.empty()) return ClientAuthType::none;
  return ClientAuthType::require_and_verify;
}

bool verifies(ClientAuthType t) {
  return t == ClientAuthType::verify_if_given || t == ClientAuthType::require_and_verify;
}

// Accepts any certificate the client sent (the types that do not verify).
int accept_any(int, X509_STORE_CTX*) { return 1; }

// "pc" + 15 bytes of SHA-256(name, type, DER of each CA): at most SSL_MAX_SID_CTX_LENGTH.
std::string session_context(const std::string& name, ClientAuthType type,
                            const std::vector<X509Ptr>& cas) {
  std::string input = name;
  input += '\0';
  input += static_cast<char>('0' + static_cast<int>(type));
  for (const auto& ca : cas) {
    unsigned char* der = nullptr;
    int n = i2d_X509(ca.get(), &der);
    if (n > 0) input.append(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr);
  return "pc" + std::string(reinterpret_cast<const char*>(digest), std::min(len, 15u));
}

std::vector<X509Ptr> load_cas(const std::string& base, const config::TlsOptions& options,
                              core::Problems& problems) {
  std::vector<X509Ptr> out;
  for (size_t i = 0; i < options.client_ca_files.size(); ++i) {
    const std::string& source = options.client_ca_files[i];
    std::string pem, error;
    std::vector<X509Ptr> certs;
    if (read_pem_source(source, pem, error)) certs = load_certificates_pem(pem, error);
    if (certs.empty()) {
      problems.push_back({base + "caFiles[" + std::to_string(i) + "]", error});
      continue;
    }
    for (auto& c : certs) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

ClientAuth make_client_auth(const std::string& name, const config::TlsOptions& options,
                            core::Problems& problems) {
  ClientAuth auth;
  const std::string base = "tls.options." + name + ".clientAuth.";
  auth.type = parse_type(options);
  if (auth.type == ClientAuthType::none) return auth;
  if (verifies(auth.type) && options.client_ca_files.empty())
    problems.push_back(
        {base + "clientAuthType",
         options.client_auth_type + " needs caFiles (every client certificate is refused)"});
  std::vector<X509Ptr> cas = load_cas(base, options, problems);
  auth.session_context = session_context(name, auth.type, cas);
  // A verify type always gets a store: empty when its CAs are missing, so it fails closed.
  if (verifies(auth.type)) auth.cas.reset(X509_STORE_new(), X509_STORE_free);
  if (cas.empty()) return auth;
  auth.ca_names.reset(sk_X509_NAME_new_null(),
                      [](STACK_OF(X509_NAME) * p) { sk_X509_NAME_pop_free(p, X509_NAME_free); });
  for (const auto& ca : cas) {
    if (auth.ca_names)
      sk_X509_NAME_push(auth.ca_names.get(), X509_NAME_dup(X509_get_subject_name(ca.get())));
    if (auth.cas) X509_STORE_add_cert(auth.cas.get(), ca.get());  // takes its own reference
  }
  return auth;
}

bool apply_client_auth(SSL* ssl, const ClientAuth& auth) {
  if (auth.type == ClientAuthType::none) return true;
  int mode = SSL_VERIFY_PEER;
  if (auth.type == ClientAuthType::require_any || auth.type == ClientAuthType::require_and_verify)
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  if (verifies(auth.type)) {
    if (!auth.cas || SSL_set1_verify_cert_store(ssl, auth.cas.get()) != 1) return false;
    SSL_set_verify(ssl, mode, nullptr);
  } else {
    SSL_set_verify(ssl, mode, accept_any);
  }
  if (auth.ca_names) {
    STACK_OF(X509_NAME)* copy = SSL_dup_CA_list(auth.ca_names.get());
    if (!copy) return false;
    SSL_set_client_CA_list(ssl, copy);  // takes ownership
  }
  const auto& sid = auth.session_context;
  return SSL_set_session_id_context(ssl, reinterpret_cast<const unsigned char*>(sid.data()),
                                    static_cast<unsigned>(sid.size())) == 1;
}

}  // namespace portier::tls
