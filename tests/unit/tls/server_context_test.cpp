#include <catch2/catch.hpp>

#include <openssl/ocsp.h>

#include "tls/server_context.hpp"
#include "tls_test_util.hpp"

using namespace portier;
using namespace portier::tls;
using namespace portier::tls::test;

namespace {

struct Fixture {
  CertStore store;
  std::shared_ptr<TicketKeyRing> keys = std::make_shared<TicketKeyRing>();
  CertEntryPtr app = entry_for({"app.example.com"});
  CertEntryPtr wild = entry_for({"*.example.com"}, "acme", KeyKind::rsa2048);
  core::Problems problems;

  Fixture() { store.set_source_entries("file", {app, wild}); }

  std::shared_ptr<ServerContext> context(const ServerContextConfig& config = {}) {
    auto ctx = ServerContext::create(store, keys, config, problems);
    REQUIRE(ctx);
    return ctx;
  }
};

int record_ocsp(SSL* ssl, void* arg) {
  const unsigned char* p = nullptr;
  long n = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
  if (p && n > 0) *static_cast<std::string*>(arg) = std::string(reinterpret_cast<const char*>(p), n);
  return 1;
}

std::string negotiated_cipher(const Connection& c) { return SSL_CIPHER_get_name(SSL_get_current_cipher(c.client.get())); }

}  // namespace

TEST_CASE("ServerContext: the certificate is chosen by SNI") {
  Fixture f;
  auto server = f.context();
  CHECK(f.problems.empty());
  auto client = client_ctx();

  auto exact = handshake(*server, client.get(), "APP.example.com");
  REQUIRE(exact.ok);
  CHECK(served(exact, f.app));
  CHECK(served_cert(exact.server.get()) == f.app);
  CHECK(sni_of(exact.server.get()) == "app.example.com");

  auto wildcard = handshake(*server, client.get(), "other.example.com");
  REQUIRE(wildcard.ok);
  CHECK(served(wildcard, f.wild));

  auto deeper = handshake(*server, client.get(), "a.b.example.com");
  REQUIRE(deeper.ok);
  CHECK(served(deeper, f.store.default_entry()));

  auto none = handshake(*server, client.get(), "");
  REQUIRE(none.ok);
  CHECK(served(none, f.store.default_entry()));
  CHECK(sni_of(none.server.get()).empty());
}

TEST_CASE("ServerContext: the certificate chain is sent") {
  Fixture f;
  Issued ca = issue({}, "Chain CA", KeyKind::ec_p256, nullptr, true);
  Issued leaf = issue({"chain.example.com"}, "", KeyKind::ec_p256, &ca);
  auto entry = make_cert_entry(to_pem(leaf.cert.get()) + to_pem(ca.cert.get()), to_pem(leaf.key.get()), "acme").entry;
  f.store.set_source_entries("acme", {entry});
  auto server = f.context();
  auto client = client_ctx();
  auto c = handshake(*server, client.get(), "chain.example.com");
  REQUIRE(c.ok);
  CHECK(served(c, entry));
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(c.client.get());
  REQUIRE(chain);
  REQUIRE(sk_X509_num(chain) == 2);
  CHECK(X509_cmp(sk_X509_value(chain, 1), ca.cert.get()) == 0);
}

TEST_CASE("ServerContext: a replaced certificate serves new handshakes, old connections keep working") {
  Fixture f;
  auto server = f.context();
  auto client = client_ctx();
  auto before = handshake(*server, client.get(), "app.example.com");
  REQUIRE(before.ok);
  auto replacement = entry_for({"app.example.com"});
  f.store.set_source_entries("file", {replacement});
  auto after = handshake(*server, client.get(), "app.example.com");
  REQUIRE(after.ok);
  CHECK(served(after, replacement));
  CHECK(exchange(before));
  CHECK(served_cert(before.server.get()) == f.app);
}

// The only tls.certificates entry is installed on the SSL_CTX itself (handshakes selecting it
// skip SSL_use_cert_and_key); any other selection must fully replace it, including when the
// two have different key types (a leftover ECDSA certificate would win for ECDSA clients).
TEST_CASE("ServerContext: the preloaded certificate never shadows the one selected") {
  CertStore store;
  auto keys = std::make_shared<TicketKeyRing>();
  auto only = entry_for({"only.example.com"});                               // ECDSA, preloaded
  auto rsa_default = entry_for({"default.example.com"}, "file", KeyKind::rsa2048);
  store.set_source_entries("file", {only});
  store.set_default(rsa_default);
  core::Problems problems;
  ServerContextConfig config;
  config.options["default"].curve_preferences = {"X25519"};  // a P-256-first client gets an HRR
  auto server = ServerContext::create(store, keys, config, problems);
  REQUIRE(server);
  CHECK(problems.empty());
  {
    SslPtr fresh = server->new_ssl();  // before any ClientHello: the preloaded certificate
    REQUIRE(SSL_get_certificate(fresh.get()));
    CHECK(X509_cmp(SSL_get_certificate(fresh.get()), only->leaf.get()) == 0);
  }

  for (bool retry : {false, true}) {
    CAPTURE(retry);
    auto client = client_ctx();
    if (retry) REQUIRE(SSL_CTX_set1_groups_list(client.get(), "P-256:X25519") == 1);
    auto preloaded = handshake(*server, client.get(), "only.example.com");
    REQUIRE(preloaded.ok);
    CHECK(served(preloaded, only));
    CHECK(served_cert(preloaded.server.get()) == only);
    CHECK(SSL_get_negotiated_group(preloaded.server.get()) == NID_X25519);  // after an HRR if retry

    auto fallback = handshake(*server, client.get(), "unknown.example.org");
    REQUIRE(fallback.ok);
    CHECK(served(fallback, rsa_default));
    CHECK(served_cert(fallback.server.get()) == rsa_default);

    SslCtxPtr tls12(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(tls12.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_max_proto_version(tls12.get(), TLS1_2_VERSION);
    auto rsa12 = handshake(*server, tls12.get(), "unknown.example.org");
    REQUIRE(rsa12.ok);
    CHECK(served(rsa12, rsa_default));
  }

  // A certificate added after the context was built is served too (not the preloaded one).
  auto later = entry_for({"later.example.com"});
  store.set_source_entries("acme", {later});
  auto client = client_ctx();
  auto c = handshake(*server, client.get(), "later.example.com");
  REQUIRE(c.ok);
  CHECK(served(c, later));
}

TEST_CASE("ServerContext: protocol versions and cipher suites") {
  Fixture f;
  auto server = f.context();

  SECTION("TLS 1.3 is negotiated when the client can") {
    auto client = client_ctx();
    auto c = handshake(*server, client.get(), "app.example.com");
    REQUIRE(c.ok);
    CHECK(SSL_version(c.server.get()) == TLS1_3_VERSION);
  }
  SECTION("TLS 1.2 uses an ECDHE AEAD suite") {
    auto client = client_ctx(0, TLS1_2_VERSION);
    auto c = handshake(*server, client.get(), "app.example.com");
    REQUIRE(c.ok);
    CHECK(SSL_version(c.server.get()) == TLS1_2_VERSION);
    CHECK(negotiated_cipher(c) == "ECDHE-ECDSA-AES128-GCM-SHA256");
    auto rsa = handshake(*server, client.get(), "rsa.example.com");
    REQUIRE(rsa.ok);
    CHECK(negotiated_cipher(rsa) == "ECDHE-RSA-AES128-GCM-SHA256");
  }
  SECTION("TLS 1.1 is refused") {
    auto client = client_ctx(TLS1_1_VERSION, TLS1_1_VERSION);
    SSL_CTX_set_security_level(client.get(), 0);
    SSL_CTX_set_cipher_list(client.get(), "DEFAULT:@SECLEVEL=0");
    auto c = handshake(*server, client.get(), "app.example.com");
    CHECK_FALSE(c.ok);
    CHECK(c.errors.find("unsupported protocol") != std::string::npos);
  }
  SECTION("CBC and non-ECDHE suites are refused") {
    auto client = client_ctx(0, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(client.get(), "ECDHE-ECDSA-AES128-SHA:AES128-GCM-SHA256");
    auto c = handshake(*server, client.get(), "app.example.com");
    CHECK_FALSE(c.ok);
    CHECK(c.errors.find("no shared cipher") != std::string::npos);
  }
}

TEST_CASE("ServerContext: ALPN in server preference order") {
  Fixture f;
  auto server = f.context();
  auto client = client_ctx();
  auto both = handshake(*server, client.get(), "app.example.com", std::string("\x08http/1.1\x02h2", 12));
  REQUIRE(both.ok);
  CHECK(alpn_of(both.server.get()) == "h2");
  auto h1 = handshake(*server, client.get(), "app.example.com", std::string("\x08http/1.1", 9));
  REQUIRE(h1.ok);
  CHECK(alpn_of(h1.server.get()) == "http/1.1");
  auto nothing = handshake(*server, client.get(), "app.example.com");
  REQUIRE(nothing.ok);
  CHECK(alpn_of(nothing.server.get()) == "http/1.1");
  auto unknown = handshake(*server, client.get(), "app.example.com", std::string("\x04spdy", 5));
  REQUIRE(unknown.ok);  // no overlap: continue without ALPN
  const unsigned char* p = nullptr;
  unsigned n = 0;
  SSL_get0_alpn_selected(unknown.client.get(), &p, &n);
  CHECK(n == 0);

  ServerContextConfig h1_only;
  h1_only.default_alpn = {"http/1.1"};
  auto server_h1 = f.context(h1_only);
  auto c = handshake(*server_h1, client.get(), "app.example.com", std::string("\x02h2\x08http/1.1", 12));
  REQUIRE(c.ok);
  CHECK(alpn_of(c.server.get()) == "http/1.1");
}

TEST_CASE("ServerContext: session resumption by ticket") {
  Fixture f;
  auto server = f.context();
  auto other_worker = f.context();  // another SSL_CTX sharing the key ring

  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    auto client = client_ctx(0, version);
    auto first = handshake(*server, client.get(), "app.example.com");
    REQUIRE(first.ok);
    REQUIRE(exchange(first));
    SSL_SESSION* session = SSL_get1_session(first.client.get());
    REQUIRE(session);
    REQUIRE(SSL_SESSION_is_resumable(session));
    CHECK_FALSE(SSL_session_reused(first.server.get()));

    auto resumed = handshake(*other_worker, client.get(), "app.example.com", "", session);
    REQUIRE(resumed.ok);
    CHECK(SSL_session_reused(resumed.server.get()));
    CHECK(SSL_session_reused(resumed.client.get()));

    f.keys->rotate();  // the previous key still decrypts
    auto after_one = handshake(*server, client.get(), "app.example.com", "", session);
    REQUIRE(after_one.ok);
    CHECK(SSL_session_reused(after_one.server.get()));

    f.keys->rotate();  // now the ticket's key is gone
    auto after_two = handshake(*server, client.get(), "app.example.com", "", session);
    REQUIRE(after_two.ok);
    if (version == TLS1_3_VERSION) CHECK_FALSE(SSL_session_reused(after_two.server.get()));
    SSL_SESSION_free(session);
  }
}

namespace {
int g_new_sessions = 0;
int count_new_session(SSL*, SSL_SESSION*) {
  ++g_new_sessions;
  return 0;  // not kept
}
}  // namespace

// Clients use a TLS 1.3 ticket once: a resumed connection must bring a fresh one (as nginx,
// Go and OpenSSL's built-in ticket keys do), else every other connection is a full handshake.
TEST_CASE("ServerContext: a resumed TLS 1.3 session receives a new ticket") {
  Fixture f;
  auto server = f.context();
  auto client = client_ctx(0, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(client.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(client.get(), count_new_session);
  auto first = handshake(*server, client.get(), "app.example.com");
  REQUIRE(first.ok);
  g_new_sessions = 0;
  REQUIRE(exchange(first));
  CHECK(g_new_sessions == 2);  // OpenSSL's default number of tickets after a full handshake
  SSL_SESSION* session = SSL_get1_session(first.client.get());
  REQUIRE(session);

  auto resumed = handshake(*server, client.get(), "app.example.com", "", session);
  REQUIRE(resumed.ok);
  CHECK(SSL_session_reused(resumed.server.get()));
  g_new_sessions = 0;
  REQUIRE(exchange(resumed));
  CHECK(g_new_sessions >= 1);
  SSL_SESSION* renewed = SSL_get1_session(resumed.client.get());
  REQUIRE(renewed);
  auto again = handshake(*server, client.get(), "app.example.com", "", renewed);
  REQUIRE(again.ok);
  CHECK(SSL_session_reused(again.server.get()));
  SSL_SESSION_free(renewed);
  SSL_SESSION_free(session);
}

TEST_CASE("TicketKeyRing: rotation is due after the interval") {
  TicketKeyRing ring(std::chrono::seconds(3600));
  auto now = std::chrono::system_clock::now();
  CHECK_FALSE(ring.rotate_if_due(now));
  CHECK(ring.rotate_if_due(now + std::chrono::seconds(3601)));
}

TEST_CASE("ServerContext: sniStrict rejects unknown names") {
  Fixture f;
  ServerContextConfig config;
  config.options["default"].sni_strict = true;
  auto server = f.context(config);
  REQUIRE(f.problems.empty());
  auto client = client_ctx();
  CHECK(handshake(*server, client.get(), "app.example.com").ok);
  CHECK(handshake(*server, client.get(), "x.example.com").ok);
  auto unknown = handshake(*server, client.get(), "unknown.example.org");
  CHECK_FALSE(unknown.ok);
  INFO(unknown.errors);
  CHECK(unknown.errors.find("unrecognized name") != std::string::npos);
  CHECK_FALSE(handshake(*server, client.get(), "").ok);
}

TEST_CASE("ServerContext: per-host TLS options") {
  Fixture f;
  ServerContextConfig config;
  config.options["modern"].min_version = "VersionTLS13";
  config.options["chacha"].cipher_suites = {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
  config.options["strict"].sni_strict = true;
  config.options["strict"].alpn_protocols = {"http/1.1"};
  config.host_options = {{"app.example.com", "modern"},
                         {"chacha.example.com", "chacha"},
                         {"*.strict.example.com", "strict"}};
  auto server = f.context(config);
  REQUIRE(f.problems.empty());
  auto tls12 = client_ctx(0, TLS1_2_VERSION);

  auto refused = handshake(*server, tls12.get(), "app.example.com");
  CHECK_FALSE(refused.ok);
  auto other = handshake(*server, tls12.get(), "other.example.com");
  REQUIRE(other.ok);
  CHECK(policy_of(other.server.get())->name == "default");

  auto chacha = handshake(*server, tls12.get(), "chacha.example.com");
  REQUIRE(chacha.ok);
  CHECK(negotiated_cipher(chacha) == "ECDHE-RSA-CHACHA20-POLY1305");  // served by the RSA wildcard
  CHECK(policy_of(chacha.server.get())->name == "chacha");

  auto client = client_ctx();
  auto strict = handshake(*server, client.get(), "a.strict.example.com", std::string("\x02h2\x08http/1.1", 12));
  CHECK_FALSE(strict.ok);  // no certificate for it and sniStrict
  f.store.set_source_entries("acme", {entry_for({"*.strict.example.com"}, "acme")});
  auto strict_ok = handshake(*server, client.get(), "a.strict.example.com", std::string("\x02h2\x08http/1.1", 12));
  REQUIRE(strict_ok.ok);
  CHECK(alpn_of(strict_ok.server.get()) == "http/1.1");
}

TEST_CASE("ServerContext: option problems are reported with paths") {
  Fixture f;
  ServerContextConfig config;
  config.options["bad"].min_version = "VersionSSL30";
  config.options["bad"].cipher_suites = {"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
  config.options["bad"].curve_preferences = {"CurveP256", "Curve25519x"};
  config.host_options = {{"a.example.com", "bad"}, {"a.example.com", "other"}, {"b.example.com", "missing"}};
  config.options["other"] = {};
  auto server = ServerContext::create(f.store, f.keys, config, f.problems);
  REQUIRE(server);
  std::vector<std::string> paths;
  for (const auto& p : f.problems) paths.push_back(p.path);
  CHECK(paths == std::vector<std::string>{"tls.options.bad.minVersion", "tls.options.bad.cipherSuites[0]",
                                          "tls.options.bad.curvePreferences[1]", "tls.options",
                                          "tls.options.missing"});
  CHECK(server->policy_for("a.example.com")->name == "default");
  auto bad = server->policy_for("x");
  CHECK(bad->name == "default");
}

TEST_CASE("ServerContext: OCSP responses are stapled when cached") {
  Fixture f;
  auto server = f.context();
  auto client = client_ctx();
  std::string stapled;
  SSL_CTX_set_tlsext_status_cb(client.get(), record_ocsp);
  SSL_CTX_set_tlsext_status_arg(client.get(), &stapled);

  auto without = handshake(*server, client.get(), "app.example.com", "", nullptr, true);
  REQUIRE(without.ok);
  CHECK(stapled.empty());

  f.store.set_ocsp_response(f.app->id, std::string("\x30\x03\x0a\x01\x00", 5));
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    stapled.clear();
    SSL_CTX_set_max_proto_version(client.get(), version);
    auto with = handshake(*server, client.get(), "app.example.com", "", nullptr, true);
    REQUIRE(with.ok);
    CHECK(stapled == std::string("\x30\x03\x0a\x01\x00", 5));
  }
  stapled.clear();
  auto other_cert = handshake(*server, client.get(), "x.example.com", "", nullptr, true);
  REQUIRE(other_cert.ok);
  CHECK(stapled.empty());
}

TEST_CASE("ServerContext: outlives its creator while connections use it") {
  Fixture f;
  auto client = client_ctx();
  Connection c;
  {
    auto server = f.context();
    c = handshake(*server, client.get(), "app.example.com", std::string("\x02h2", 3));
    REQUIRE(c.ok);
  }
  CHECK(exchange(c));
  CHECK(alpn_of(c.server.get()) == "h2");
}
