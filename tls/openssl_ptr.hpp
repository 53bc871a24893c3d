#pragma once
// RAII owners for OpenSSL objects and small loading helpers. Every function here is
// thread-safe (no shared state besides OpenSSL's own per-thread error queue).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portier::tls {

struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free_all(p); } };
struct X509StackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); } };

using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// New owners sharing the object (reference count incremented). Null in, null out.
X509Ptr share(X509* cert);
EvpPkeyPtr share(EVP_PKEY* key);
SslCtxPtr share(SSL_CTX* ctx);

// Drains this thread's OpenSSL error queue into one line ("" when empty).
std::string openssl_errors();

// True when `text` holds a PEM block ("-----BEGIN ").
bool looks_like_pem(std::string_view text);

// Traefik's certFile/keyFile: inline PEM is returned as is, anything else is read as a path.
// Returns false with *error set when the file cannot be read.
bool read_pem_source(const std::string& path_or_pem, std::string& pem, std::string& error);

// Every certificate in `pem`, in order (leaf first for a chain). Empty + error on failure
// or when there is no certificate.
std::vector<X509Ptr> load_certificates_pem(std::string_view pem, std::string& error);

// The first private key in `pem` (PKCS#8, PKCS#1 RSA or SEC1 EC). Null + error on failure.
EvpPkeyPtr load_private_key_pem(std::string_view pem, std::string& error);

// A private key from DER bytes: PKCS#8, PKCS#1 RSA or SEC1 EC (what lego/Traefik store).
EvpPkeyPtr load_private_key_der(std::string_view der, std::string& error);

// PEM encodings (PKCS#8 for keys).
std::string to_pem(X509* cert);
std::string to_pem(EVP_PKEY* key);

}  // namespace portier::tls
