#pragma once
// The GnuTLS side of HTTP/3 (QUIC's TLS runs on GnuTLS: Debian's OpenSSL 3.0 has no QUIC
// API). One QuicCredentials per HTTP/3 listener serves the certificates of the shared
// tls::CertStore, chosen per handshake by SNI exactly as TCP TLS does (CertStore::find: exact
// name, wildcard, default), so files, ACME and the default certificate, and a certificate
// replaced while running, are served the same on both. TLS 1.3 only, ALPN "h3", no 0-RTT.
//
// Threads: the worker that owns the listener. A certificate is converted to GnuTLS form the
// first time a handshake picks it (cached by CertEntry::id); a session keeps the one it
// served alive (QuicTlsRef::served) whatever the cache does afterwards.
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tls/cert_store.hpp"
#include "tls/tls_policy.hpp"

namespace portier::proxy {

// One CertEntry in GnuTLS form: the chain (leaf first) and the key.
class GnutlsCert {
 public:
  // Null when GnuTLS cannot read the entry (logged).
  static std::shared_ptr<const GnutlsCert> make(const tls::CertEntry& entry);
  ~GnutlsCert();
  GnutlsCert(const GnutlsCert&) = delete;
  GnutlsCert& operator=(const GnutlsCert&) = delete;

  gnutls_pcert_st* chain() const { return chain_.data(); }
  unsigned chain_size() const { return static_cast<unsigned>(chain_.size()); }
  gnutls_privkey_t key() const { return key_; }

 private:
  GnutlsCert() = default;
  mutable std::vector<gnutls_pcert_st> chain_;  // GnuTLS takes non-const pointers
  gnutls_privkey_t key_ = nullptr;
};

class QuicCredentials;

// What a GnuTLS session's user pointer holds: ngtcp2's conn_ref first (ngtcp2_crypto reads
// it), then what the certificate callback needs. Standard layout; owned by the connection.
struct QuicTlsRef {
  ngtcp2_crypto_conn_ref conn_ref{};
  QuicCredentials* credentials = nullptr;
  std::shared_ptr<const GnutlsCert> served;  // the certificate this handshake sent
  tls::TlsPolicyPtr policy;  // the tls.options policy of its SNI (null: none loaded)
};

// The IANA name of the TLS 1.3 suite a QUIC session negotiated, from its AEAD (TLS 1.3 pairs
// each with one hash): the name OpenSSL's SSL_CIPHER_standard_name gives TCP TLS and Go's
// tls.CipherSuiteName gives Traefik (access log TLSCipher). Static text; "" for a cipher QUIC
// does not use (RFC 9001 5.3 excludes CCM_8).
std::string_view tls13_suite_name(gnutls_cipher_algorithm_t aead);

class QuicCredentials {
 public:
  // The tls.options policy of an SNI, as TCP TLS applies it (null: none).
  using PolicyLookup = std::function<tls::TlsPolicyPtr(std::string_view sni)>;

  // `store` outlives this. Throws std::runtime_error when GnuTLS cannot allocate.
  explicit QuicCredentials(const tls::CertStore& store, PolicyLookup policy = {});
  ~QuicCredentials();
  QuicCredentials(const QuicCredentials&) = delete;
  QuicCredentials& operator=(const QuicCredentials&) = delete;

  // A server session for one QUIC connection (TLS 1.3 only, ALPN h3 mandatory, no early data)
  // whose user pointer is `ref`; ngtcp2_crypto is configured on it. Null on failure.
  gnutls_session_t new_session(QuicTlsRef& ref);

  // The GnuTLS form of the certificate the store serves for `sni` ("" = none sent). Null
  // when the handshake must fail: the SNI's tls.options ask for what the QUIC side does not
  // apply yet (client certificates, TLS 1.2 at most), or sniStrict finds no certificate.
  // Failing closed keeps an HTTP/3 client from skipping a check TCP TLS makes. `applied`, when
  // given, receives the SNI's policy (the request pipeline's 421 check compares it with the
  // policy of each request's Host, as on TCP).
  std::shared_ptr<const GnutlsCert> pick(std::string_view sni, tls::TlsPolicyPtr* applied = nullptr);

 private:
  const tls::CertStore& store_;
  PolicyLookup policy_;
  gnutls_certificate_credentials_t cred_ = nullptr;
  gnutls_priority_t priority_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<const GnutlsCert>> cache_;  // by CertEntry::id
  static constexpr size_t kCacheMax = 256;
};

}  // namespace portier::proxy
