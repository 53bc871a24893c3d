// QuicCredentials: the certificate a QUIC handshake gets is the one CertStore::find gives TCP
// TLS for that SNI (exact, wildcard, default), in GnuTLS form; a replaced certificate is served
// to the next handshake; a GnuTLS server session can be made for QUIC.
#include <catch2/catch.hpp>

#include <openssl/x509.h>

#include "../tls/tls_test_util.hpp"
#include "proxy/quic_credentials.hpp"

namespace portier::proxy {
namespace {

std::string der_of(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509(cert, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string leaf_der(const GnutlsCert& c) {
  const gnutls_datum_t& d = c.chain()[0].cert;
  return std::string(reinterpret_cast<const char*>(d.data), d.size);
}

}  // namespace

TEST_CASE("QuicCredentials serves the store's certificate for each SNI") {
  tls::CertStore store;
  auto exact = tls::test::entry_for({"a.test"});
  auto wild = tls::test::entry_for({"*.wild.test"}, "file", tls::KeyKind::rsa2048);
  store.set_source_entries("file", {exact, wild});
  QuicCredentials creds(store);

  auto a = creds.pick("a.test");
  REQUIRE(a);
  CHECK(leaf_der(*a) == der_of(exact->leaf.get()));
  CHECK(a->chain_size() == 1);
  CHECK(a->key() != nullptr);
  CHECK(creds.pick("A.TEST.") == a);  // the same entry: converted once

  auto w = creds.pick("x.wild.test");
  REQUIRE(w);
  CHECK(leaf_der(*w) == der_of(wild->leaf.get()));

  auto fallback = creds.pick("");
  REQUIRE(fallback);
  CHECK(leaf_der(*fallback) == der_of(store.default_entry()->leaf.get()));

  // A replaced certificate: the next handshake gets the new one, the old stays valid for the
  // sessions holding it.
  auto renewed = tls::test::entry_for({"a.test"});
  store.set_source_entries("file", {renewed, wild});
  auto b = creds.pick("a.test");
  REQUIRE(b);
  CHECK(leaf_der(*b) == der_of(renewed->leaf.get()));
  CHECK(leaf_der(*a) == der_of(exact->leaf.get()));
}

TEST_CASE("QuicCredentials makes a GnuTLS server session for QUIC whose user pointer is the ref") {
  tls::CertStore store;
  QuicCredentials creds(store);
  QuicTlsRef ref;
  gnutls_session_t session = creds.new_session(ref);
  REQUIRE(session != nullptr);
  CHECK(gnutls_session_get_ptr(session) == &ref);
  CHECK(ref.credentials == &creds);
  gnutls_deinit(session);
}

}  // namespace portier::proxy

namespace portier::proxy {

TEST_CASE("QuicCredentials fails closed on tls.options the QUIC side does not apply") {
  tls::CertStore store;
  store.set_source_entries("file", {tls::test::entry_for({"a.test"}), tls::test::entry_for({"m.test"}),
                                    tls::test::entry_for({"old.test"})});
  auto plain = std::make_shared<tls::TlsPolicy>();
  auto mtls = std::make_shared<tls::TlsPolicy>();
  mtls->client_auth.type = tls::ClientAuthType::verify_if_given;
  auto tls12 = std::make_shared<tls::TlsPolicy>();
  tls12->max_version = TLS1_2_VERSION;
  auto strict = std::make_shared<tls::TlsPolicy>();
  strict->sni_strict = true;
  QuicCredentials creds(store, [&](std::string_view sni) -> tls::TlsPolicyPtr {
    if (sni == "m.test") return mtls;
    if (sni == "old.test") return tls12;
    if (sni == "strict.test" || sni == "a.test") return strict;
    return plain;
  });
  CHECK(creds.pick("a.test"));           // sniStrict with a certificate for the name
  CHECK(creds.pick("other.test"));       // the default certificate, no strictness
  CHECK_FALSE(creds.pick("m.test"));     // client certificates: not over HTTP/3 yet
  CHECK_FALSE(creds.pick("old.test"));   // TLS 1.2 at most: QUIC needs 1.3
  CHECK_FALSE(creds.pick("strict.test"));  // sniStrict and only the default would match

  // The policy a handshake applied, for the 421 check of its requests.
  tls::TlsPolicyPtr applied;
  CHECK(creds.pick("other.test", &applied));
  CHECK(applied == plain);
  CHECK(creds.pick("a.test", &applied));
  CHECK(applied == strict);
}

TEST_CASE("tls13_suite_name gives the IANA name of each QUIC AEAD, as TCP TLS logs it") {
  CHECK(tls13_suite_name(GNUTLS_CIPHER_AES_128_GCM) == "TLS_AES_128_GCM_SHA256");
  CHECK(tls13_suite_name(GNUTLS_CIPHER_AES_256_GCM) == "TLS_AES_256_GCM_SHA384");
  CHECK(tls13_suite_name(GNUTLS_CIPHER_CHACHA20_POLY1305) == "TLS_CHACHA20_POLY1305_SHA256");
  CHECK(tls13_suite_name(GNUTLS_CIPHER_AES_128_CCM) == "TLS_AES_128_CCM_SHA256");
  CHECK(tls13_suite_name(GNUTLS_CIPHER_AES_128_CCM_8) == "");  // not for QUIC (RFC 9001 5.3)
  CHECK(tls13_suite_name(GNUTLS_CIPHER_AES_128_CBC) == "");
}

}  // namespace portier::proxy
