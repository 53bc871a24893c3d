#pragma once
// ClientAuth: the clientAuth part of one `tls.options` entry (Traefik's caFiles and
// clientAuthType, Go's tls.ClientAuthType semantics) in OpenSSL terms. Built on the control
// thread (reads the CA files); immutable afterwards and applied to handshakes on any thread.
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "config/dynamic.hpp"
#include "core/error.hpp"

namespace portier::tls {

enum class ClientAuthType : uint8_t {
  none,                // NoClientCert: no certificate is asked for
  request,             // RequestClientCert: asked for, optional, not verified
  require_any,         // RequireAnyClientCert: required, not verified
  verify_if_given,     // VerifyClientCertIfGiven: optional, verified against the CAs when sent
  require_and_verify,  // RequireAndVerifyClientCert: required and verified
};

struct ClientAuth {
  ClientAuthType type = ClientAuthType::none;
  std::shared_ptr<X509_STORE> cas;                // trust anchors; null unless a verify type
  std::shared_ptr<STACK_OF(X509_NAME)> ca_names;  // sent in the CertificateRequest
  // The session id context of handshakes under this policy, distinct per type and CA set, so a
  // session (ticket or cache) made without this policy, or under other CAs, is never resumed
  // here: resumption would skip the certificate request.
  std::string session_context;
};

// Reads options.client_ca_files and client_auth_type. Problems (paths
// "tls.options.<name>.clientAuth.…") are appended; a failure keeps the requested type with
// the CAs that did load (none at worst), so the policy fails closed: a verify type whose CAs
// are missing refuses every certificate instead of accepting clients unverified.
ClientAuth make_client_auth(const std::string& name, const config::TlsOptions& options,
                            core::Problems& problems);

// Applies `auth` to a server SSL during its ClientHello callback (before session resumption
// is decided). False on an OpenSSL failure. Does nothing for ClientAuthType::none.
bool apply_client_auth(SSL* ssl, const ClientAuth& auth);

}  // namespace portier::tls
