#pragma once
// The headers of Traefik's passTLSClientCert middleware, formatted from the certificates a TLS
// client sent (Traefik v3's pkg/middlewares/passtlsclientcert, byte for byte):
//   X-Forwarded-Tls-Client-Cert       each certificate's DER in base64, no PEM armour, ","
//                                     between certificates
//   X-Forwarded-Tls-Client-Cert-Info  per certificate `Subject="…";Issuer="…";SerialNumber="…";
//                                     NB="…";NA="…";SAN="…"` (selected fields, empty ones left
//                                     out), "," between certificates, then query-escaped as
//                                     Go's url.QueryEscape does
// Pure functions of their arguments; any thread. The certificates are outside input (whatever
// the client sent), so every field is read defensively (tests/fuzz/client_cert_fuzz.cpp).
#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::tls {

// The client's certificate then the chain it sent, as Go's PeerCertificates; empty when it
// sent none. The pointers are borrowed from `ssl` and valid while it lives.
std::vector<X509*> peer_certificates(const SSL* ssl);

std::string client_cert_pem_header(const std::vector<X509*>& certs);
std::string client_cert_info_header(const std::vector<X509*>& certs,
                                    const config::ClientCertInfo& info);

// Go's url.QueryEscape: unreserved bytes kept, space as "+", anything else %XX.
std::string query_escape(std::string_view text);

}  // namespace portier::tls
