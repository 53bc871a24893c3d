#include "proxy/quic_credentials.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <stdexcept>

#include "core/log.hpp"
#include "tls/openssl_ptr.hpp"

// GnuTLS initializes itself when the library is loaded unless the program says not to; that
// cost every portier process about 0.6 MiB even without an http3 entrypoint. The first QUIC
// credentials initialize it instead (gnutls_global_init counts references and is thread-safe).
extern "C" {
GNUTLS_SKIP_GLOBAL_INIT
}

namespace portier::proxy {
namespace {

// TLS 1.3 only (QUIC requires it), the AEADs QUIC defines, the usual groups.
constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "+GROUP-SECP384R1:+GROUP-SECP521R1";

unsigned char kH3[] = {'h', '3'};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// The chain (leaf first) and the key as PEM, as GnuTLS reads them.
bool to_pem(const tls::CertEntry& entry, std::string& chain, std::string& key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> certs(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pkey(BIO_new(BIO_s_mem()), BIO_free);
  if (!certs || !pkey || !PEM_write_bio_X509(certs.get(), entry.leaf.get())) return false;
  for (int i = 0; i < sk_X509_num(entry.chain.get()); ++i)
    if (!PEM_write_bio_X509(certs.get(), sk_X509_value(entry.chain.get(), i))) return false;
  if (!PEM_write_bio_PrivateKey(pkey.get(), entry.key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return false;
  chain = bio_text(certs.get());
  key = bio_text(pkey.get());
  return true;
}

gnutls_datum_t datum(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), static_cast<unsigned>(s.size())};
}

// GnuTLS asks for the certificate of a handshake: the store's choice for the SNI.
int retrieve_certificate(gnutls_session_t session, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*,
                         int, gnutls_pcert_st** pcert, unsigned int* pcert_length, gnutls_privkey_t* key) {
  auto* ref = static_cast<QuicTlsRef*>(gnutls_session_get_ptr(session));
  if (!ref || !ref->credentials) return -1;
  char name[256];
  size_t name_len = sizeof name - 1;
  unsigned type = 0;
  std::string_view sni;
  if (gnutls_server_name_get(session, name, &name_len, &type, 0) == GNUTLS_E_SUCCESS && type == GNUTLS_NAME_DNS)
    sni = std::string_view(name, name_len);
  ref->served = ref->credentials->pick(sni, &ref->policy);
  if (!ref->served) return -1;
  *pcert = ref->served->chain();
  *pcert_length = ref->served->chain_size();
  *key = ref->served->key();
  return 0;
}

}  // namespace

std::string_view tls13_suite_name(gnutls_cipher_algorithm_t aead) {
  switch (aead) {
    case GNUTLS_CIPHER_AES_128_GCM: return "TLS_AES_128_GCM_SHA256";
    case GNUTLS_CIPHER_AES_256_GCM: return "TLS_AES_256_GCM_SHA384";
    case GNUTLS_CIPHER_CHACHA20_POLY1305: return "TLS_CHACHA20_POLY1305_SHA256";
    case GNUTLS_CIPHER_AES_128_CCM: return "TLS_AES_128_CCM_SHA256";
    default: return "";
  }
}

std::shared_ptr<const GnutlsCert> GnutlsCert::make(const tls::CertEntry& entry) {
  std::string chain_pem, key_pem;
  if (!to_pem(entry, chain_pem, key_pem)) {
    core::log_error("http3: cannot export certificate ", entry.id, " for GnuTLS");
    return nullptr;
  }
  std::shared_ptr<GnutlsCert> out(new GnutlsCert());
  unsigned count = 16;
  out->chain_.resize(count);
  gnutls_datum_t chain = datum(chain_pem);
  int rv = gnutls_pcert_list_import_x509_raw(out->chain_.data(), &count, &chain, GNUTLS_X509_FMT_PEM, 0);
  if (rv < 0) {
    out->chain_.clear();
    core::log_error("http3: GnuTLS cannot read certificate ", entry.id, ": ", gnutls_strerror(rv));
    return nullptr;
  }
  out->chain_.resize(count);
  gnutls_datum_t key = datum(key_pem);
  if (gnutls_privkey_init(&out->key_) < 0 ||
      (rv = gnutls_privkey_import_x509_raw(out->key_, &key, GNUTLS_X509_FMT_PEM, nullptr, 0)) < 0) {
    core::log_error("http3: GnuTLS cannot read the key of certificate ", entry.id);
    return nullptr;
  }
  return out;
}

GnutlsCert::~GnutlsCert() {
  for (auto& c : chain_) gnutls_pcert_deinit(&c);
  if (key_) gnutls_privkey_deinit(key_);
}

QuicCredentials::QuicCredentials(const tls::CertStore& store, PolicyLookup policy)
    : store_(store), policy_(std::move(policy)) {
  if (gnutls_global_init() < 0) throw std::runtime_error("GnuTLS cannot initialize");
  if (gnutls_certificate_allocate_credentials(&cred_) < 0 ||
      gnutls_priority_init(&priority_, kPriority, nullptr) < 0)
    throw std::runtime_error("GnuTLS cannot allocate QUIC credentials");
  gnutls_certificate_set_retrieve_function2(cred_, retrieve_certificate);
}

QuicCredentials::~QuicCredentials() {
  if (priority_) gnutls_priority_deinit(priority_);
  if (cred_) gnutls_certificate_free_credentials(cred_);
  gnutls_global_deinit();
}

gnutls_session_t QuicCredentials::new_session(QuicTlsRef& ref) {
  ref.credentials = this;
  gnutls_session_t session = nullptr;
  if (gnutls_init(&session, GNUTLS_SERVER) < 0) return nullptr;
  gnutls_datum_t alpn{kH3, sizeof kH3};
  bool ok = gnutls_priority_set(session, priority_) == 0 &&
            ngtcp2_crypto_gnutls_configure_server_session(session) == 0 &&
            gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred_) == 0 &&
            gnutls_alpn_set_protocols(session, &alpn, 1, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE) == 0;
  if (!ok) {
    gnutls_deinit(session);
    return nullptr;
  }
  gnutls_session_set_ptr(session, &ref);
  return session;
}

std::shared_ptr<const GnutlsCert> QuicCredentials::pick(std::string_view sni, tls::TlsPolicyPtr* applied) {
  tls::CertMatch match = store_.find(sni);
  if (!match.entry) return nullptr;
  tls::TlsPolicyPtr policy = policy_ ? policy_(sni) : nullptr;
  if (applied) *applied = policy;
  if (policy) {
    bool tls13 = policy->max_version == 0 || policy->max_version >= TLS1_3_VERSION;
    // Not applied over QUIC yet (GnuTLS's key exchange groups are fixed before the SNI is
    // known): refused rather than skipped. cipherSuites name TLS 1.2 suites only and every
    // minVersion allows 1.3, so those hold as they are.
    if (policy->client_auth.type != tls::ClientAuthType::none || !tls13 || !policy->groups.empty() ||
        (policy->sni_strict && match.match == tls::SniMatch::fallback))
      return nullptr;
  }
  auto it = cache_.find(match.entry->id);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kCacheMax) cache_.clear();  // replaced certificates go; sessions keep theirs
  auto made = GnutlsCert::make(*match.entry);
  if (made) cache_.emplace(match.entry->id, made);
  return made;
}

}  // namespace portier::proxy
