#pragma once
// Key and self-signed certificate generation: the default certificate, and test fixtures.
// Control thread only (key generation is slow for RSA).
#include <string>
#include <vector>

#include "tls/openssl_ptr.hpp"

namespace portier::tls {

enum class KeyKind { ec_p256, ec_p384, rsa2048, rsa4096 };

// Null (error in `error`) on failure.
EvpPkeyPtr generate_key(KeyKind kind, std::string& error);

struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;   // SAN entries
  int valid_days = 365;
  int not_before_offset_days = 0;       // negative = backdated
  std::string ocsp_url;                 // adds an AIA OCSP entry when not empty
  X509* issuer_cert = nullptr;          // null = self-signed
  EVP_PKEY* issuer_key = nullptr;       // required with issuer_cert
  bool is_ca = false;
  // RFC 8737 §3: when not empty (the 32-byte SHA-256 of a key authorization), the critical
  // id-pe-acmeIdentifier extension of a TLS-ALPN-01 challenge certificate.
  std::string acme_identifier;
};

// Signs `key`'s public half per `req` (SHA-256). Null + error on failure.
X509Ptr make_certificate(EVP_PKEY* key, const CertRequest& req, std::string& error);

}  // namespace portier::tls
