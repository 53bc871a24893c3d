#include "tls/acme_challenges.hpp"

#include <catch2/catch.hpp>

#include "tls_test_util.hpp"

using namespace portier::tls;
using namespace portier::tls::test;

TEST_CASE("AcmeChallenges: HTTP-01 answers by token and domain") {
  AcmeChallenges c;
  c.set_http("tok", "a.example.com", "tok.thumb");
  CHECK(c.http_answer("tok", "a.example.com") == std::optional<std::string>("tok.thumb"));
  CHECK_FALSE(c.http_answer("tok", "b.example.com"));
  CHECK_FALSE(c.http_answer("other", "a.example.com"));
  CHECK_FALSE(c.http_answer("tok\na.example.com", ""));
  CHECK_FALSE(c.http_answer("", "a.example.com"));
  c.remove_http("tok", "a.example.com");
  CHECK_FALSE(c.http_answer("tok", "a.example.com"));
}

TEST_CASE("ServerContext: an acme-tls/1-only ClientHello gets the TLS-ALPN-01 certificate") {
  CertStore store;
  auto site = entry_for({"a.example.com"});
  store.set_source_entries("file", {site});
  auto challenge = entry_for({"a.example.com"}, "acme-challenge");
  AcmeChallenges challenges;
  ServerContextConfig cfg;
  cfg.challenges = &challenges;
  portier::core::Problems problems;
  auto server = ServerContext::create(store, nullptr, cfg, problems);
  REQUIRE(server);
  auto cctx = client_ctx(TLS1_2_VERSION);
  const std::string acme_alpn = "\x0a" "acme-tls/1";

  SECTION("no challenge pending: the site's certificate, no ALPN") {
    auto c = handshake(*server, cctx.get(), "a.example.com", acme_alpn);
    REQUIRE(c.ok);
    CHECK(served(c, site));
    CHECK(alpn_of(c.client.get()) == "http/1.1");
  }
  SECTION("pending: the challenge certificate and acme-tls/1") {
    challenges.set_tls_alpn("a.example.com", challenge);
    CHECK(challenges.has_tls_alpn());
    auto c = handshake(*server, cctx.get(), "A.Example.com", acme_alpn);
    REQUIRE(c.ok);
    CHECK(served(c, challenge));
    CHECK(alpn_of(c.client.get()) == kAcmeTlsAlpn);
    CHECK(alpn_of(c.server.get()) == kAcmeTlsAlpn);
    // Other clients, and acme-tls/1 offered next to another protocol, see the site.
    auto h2 = handshake(*server, cctx.get(), "a.example.com", "\x02h2");
    REQUIRE(h2.ok);
    CHECK(served(h2, site));
    auto mixed = handshake(*server, cctx.get(), "a.example.com", acme_alpn + "\x02h2");
    REQUIRE(mixed.ok);
    CHECK(served(mixed, site));
    auto other = handshake(*server, cctx.get(), "b.example.com", acme_alpn);
    REQUIRE(other.ok);
    CHECK_FALSE(served(other, challenge));
    challenges.remove_tls_alpn("a.example.com");
    CHECK_FALSE(challenges.has_tls_alpn());
    auto after = handshake(*server, cctx.get(), "a.example.com", acme_alpn);
    REQUIRE(after.ok);
    CHECK(served(after, site));
  }
}
