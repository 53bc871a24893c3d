// External account binding, the TLS-ALPN-01 certificate, alternate chain links, the preferred
// chain test and the renewal window.
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include "acme/acme_client.hpp"
#include "acme/acme_manager.hpp"
#include "acme/jws.hpp"
#include "acme/listener_solvers.hpp"
#include "tls/self_signed.hpp"

using namespace portier;
using Json = nlohmann::json;

TEST_CASE("base64url_decode") {
  CHECK(acme::base64url_decode("c2VjcmV0") == std::optional<std::string>("secret"));
  CHECK(acme::base64url_decode("c2VjcmV0LWtleS0wMTIzNDU2Nzg5") == std::optional<std::string>("secret-key-0123456789"));
  CHECK(acme::base64url_decode("-_8") == std::optional<std::string>("\xfb\xff"));
  CHECK(acme::base64url_decode("-_8=") == std::optional<std::string>("\xfb\xff"));
  CHECK_FALSE(acme::base64url_decode("a+b/"));
  CHECK_FALSE(acme::base64url_decode("a b"));
  CHECK_FALSE(acme::base64url_decode("a!b"));
}

TEST_CASE("eab_jws: RFC 8555 7.3.4 binding, HS256 over the account JWK") {
  Json jwk = {{"crv", "P-256"}, {"kty", "EC"}, {"x", "AAA"}, {"y", "BBB"}};
  std::string error;
  Json jws = acme::eab_jws(jwk, "kid-1", "secret-key-0123456789", "https://ca/new-acct", error);
  REQUIRE(error.empty());
  // Computed independently (Python hmac/base64, compact JSON with sorted keys).
  CHECK(jws["protected"] == "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS9uZXctYWNjdCJ9");
  CHECK(jws["payload"] == "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6IkFBQSIsInkiOiJCQkIifQ");
  CHECK(jws["signature"] == "TqicH1Wfzwj2SRfs-usFjdmAIY-qirZHifOckzg05Zw");
  Json header = Json::parse(*acme::base64url_decode(jws["protected"].get<std::string>()));
  CHECK(header == Json({{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca/new-acct"}}));
  Json other = acme::eab_jws(jwk, "kid-1", "another key", "https://ca/new-acct", error);
  CHECK(other["signature"] != jws["signature"]);
}

TEST_CASE("make_tls_alpn_certificate: RFC 8737 acmeIdentifier certificate") {
  std::string error;
  auto entry = acme::make_tls_alpn_certificate("app.example.com", "tok.thumb", error);
  REQUIRE(entry);
  CHECK(entry->names == std::vector<std::string>{"app.example.com"});
  X509* cert = entry->leaf.get();
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int at = X509_get_ext_by_OBJ(cert, oid, -1);
  ASN1_OBJECT_free(oid);
  REQUIRE(at >= 0);
  X509_EXTENSION* ext = X509_get_ext(cert, at);
  CHECK(X509_EXTENSION_get_critical(ext) == 1);
  ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  std::string der(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), ASN1_STRING_length(data));
  CHECK(der == std::string("\x04\x20", 2) + acme::sha256("tok.thumb"));
  CHECK(X509_check_issued(cert, cert) == X509_V_OK);  // self-signed
}

TEST_CASE("alternate_links: rel=alternate targets of Link header values") {
  CHECK(acme::alternate_links({"<https://ca/cert/1/1>;rel=\"alternate\""}) ==
        std::vector<std::string>{"https://ca/cert/1/1"});
  CHECK(acme::alternate_links({"<https://ca/dir>;rel=\"index\"", "<https://ca/a>; rel=alternate, <https://ca/b> ; REL=\"up alternate\""}) ==
        std::vector<std::string>{"https://ca/a", "https://ca/b"});
  CHECK(acme::alternate_links({"<https://ca/a>; title=\"x, rel=alternate\""}).empty());
  CHECK(acme::alternate_links({"<https://ca/a>; rel=\"index\", <https://ca/b>"}).empty());
  CHECK(acme::alternate_links({"<https://ca/a", "rel=alternate", "<>;rel=alternate", ";;=,<"}).empty());
}

TEST_CASE("chain_has_top_issuer: the CN of the last certificate's issuer") {
  std::string error;
  auto root_key = tls::generate_key(tls::KeyKind::ec_p256, error);
  tls::CertRequest root_req;
  root_req.common_name = "Pebble Root CA 1";
  root_req.is_ca = true;
  auto root = tls::make_certificate(root_key.get(), root_req, error);
  auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
  tls::CertRequest req;
  req.common_name = "Pebble Intermediate CA 1";
  req.is_ca = true;
  req.issuer_cert = root.get();
  req.issuer_key = root_key.get();
  auto intermediate = tls::make_certificate(key.get(), req, error);
  REQUIRE(intermediate);
  std::string pem = tls::to_pem(intermediate.get());
  CHECK(acme::chain_has_top_issuer(pem, "Pebble Root CA 1"));
  CHECK_FALSE(acme::chain_has_top_issuer(pem, "Pebble Intermediate CA 1"));
  CHECK_FALSE(acme::chain_has_top_issuer("", "Pebble Root CA 1"));
}

TEST_CASE("renew_window: Traefik's getCertificateRenewDurations") {
  using std::chrono::hours;
  using std::chrono::minutes;
  auto check = [](int h, minutes before, minutes interval) {
    INFO(h);
    CHECK(acme::renew_window(h).before == before);
    CHECK(acme::renew_window(h).interval == interval);
  };
  check(2160, hours(24 * 30), hours(24));
  check(365 * 24, hours(24 * 120), hours(24 * 7));
  check(30 * 24, hours(240), hours(12));
  check(6 * 24, hours(48), hours(2));
  check(24, hours(6), minutes(10));
  check(1, minutes(20), minutes(1));
}
