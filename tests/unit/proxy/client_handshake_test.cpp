// set_handshake: the TLS facts a TCP TLS connection's requests read (the 421 check's policy,
// the access log's TLSVersion/TLSCipher, passTLSClientCert's SSL) come from its finished
// handshake, once per connection.
#include <catch2/catch.hpp>

#include "../tls/tls_test_util.hpp"
#include "proxy/forwarding.hpp"

namespace portier::proxy {

TEST_CASE("set_handshake records the policy, version and suite name of a finished handshake") {
  tls::CertStore store;
  store.set_source_entries("file", {tls::test::entry_for({"app.example.com"}), tls::test::entry_for({"other.example.com"})});
  tls::ServerContextConfig config;
  config.options["modern"].min_version = "VersionTLS13";
  config.host_options = {{"app.example.com", "modern"}};
  core::Problems problems;
  auto server = tls::ServerContext::create(store, std::make_shared<tls::TicketKeyRing>(), config, problems);
  REQUIRE(server);

  auto tls12 = tls::test::client_ctx(0, TLS1_2_VERSION);
  auto old = tls::test::handshake(*server, tls12.get(), "other.example.com");
  REQUIRE(old.ok);
  ClientInfo a;
  set_handshake(a, old.server.get());
  CHECK(a.ssl == old.server.get());
  REQUIRE(a.tls_policy);
  CHECK(a.tls_policy->name == "default");
  CHECK(a.tls_version == "1.2");
  // The IANA name (Go's tls.CipherSuiteName, as Traefik logs), not OpenSSL's own.
  CHECK(a.tls_cipher == SSL_CIPHER_standard_name(SSL_get_current_cipher(old.client.get())));
  CHECK(a.tls_cipher.starts_with("TLS_ECDHE_ECDSA_WITH_"));

  auto tls13 = tls::test::client_ctx();
  auto modern = tls::test::handshake(*server, tls13.get(), "app.example.com");
  REQUIRE(modern.ok);
  ClientInfo b;
  set_handshake(b, modern.server.get());
  REQUIRE(b.tls_policy);
  CHECK(b.tls_policy->name == "modern");
  CHECK(b.tls_version == "1.3");
  CHECK(b.tls_cipher == SSL_CIPHER_standard_name(SSL_get_current_cipher(modern.client.get())));
  CHECK(b.tls_cipher.starts_with("TLS_AES_"));
}

TEST_CASE("tls_version_text names the versions as the access log writes them") {
  CHECK(tls_version_text(TLS1_3_VERSION) == "1.3");
  CHECK(tls_version_text(TLS1_2_VERSION) == "1.2");
  CHECK(tls_version_text(TLS1_1_VERSION) == "1.1");
  CHECK(tls_version_text(TLS1_VERSION) == "1.0");
  CHECK(tls_version_text(0) == "unknown");
}

}  // namespace portier::proxy
