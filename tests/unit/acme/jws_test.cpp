#include "acme/jws.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <catch2/catch.hpp>

#include "acme/csr.hpp"
#include "tls/self_signed.hpp"

using namespace portier;

namespace {

std::string base64url_decode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  REQUIRE(n >= 0);
  out.resize(static_cast<std::size_t>(n));
  std::size_t pad = 0;
  for (auto it = s.rbegin(); it != s.rend() && *it == '='; ++it) ++pad;
  out.resize(out.size() - pad);
  return out;
}

// Verifies a JWS ES256 R||S signature with OpenSSL's own verifier (after DER re-encoding).
bool verify_es256(EVP_PKEY* key, const std::string& input, const std::string& raw_sig) {
  REQUIRE(raw_sig.size() == 64);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  auto* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw_sig.data()), 32, nullptr);
  auto* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw_sig.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

}  // namespace

TEST_CASE("base64url follows RFC 4648 section 5 without padding") {
  CHECK(acme::base64url("") == "");
  CHECK(acme::base64url("f") == "Zg");
  CHECK(acme::base64url("fo") == "Zm8");
  CHECK(acme::base64url("foo") == "Zm9v");
  CHECK(acme::base64url("foob") == "Zm9vYg");
  CHECK(acme::base64url("fooba") == "Zm9vYmE");
  CHECK(acme::base64url("foobar") == "Zm9vYmFy");
  CHECK(acme::base64url(std::string("\xfb\xff\xfe", 3)) == "-__-");
}

TEST_CASE("JWK thumbprint matches the RFC 7638 section 3.1 example") {
  nlohmann::json jwk = {
      {"kty", "RSA"},
      {"e", "AQAB"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknj"
       "hMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qM"
       "QvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJ"
       "zKnqDKgw"}};
  CHECK(acme::jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("dns-01 TXT value is base64url(SHA-256(token.thumbprint))") {
  // Computed independently: python3 hashlib/base64 over the key authorization.
  CHECK(acme::dns01_txt_value("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                              "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") ==
        "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
}

TEST_CASE("ES256 JWS over a P-256 key verifies with OpenSSL") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
  REQUIRE(key);
  auto jwk = acme::public_jwk(key.get());
  CHECK(jwk["kty"] == "EC");
  CHECK(jwk["crv"] == "P-256");
  CHECK(jwk["x"].get<std::string>().size() == 43);  // 32 bytes
  CHECK(jwk["y"].get<std::string>().size() == 43);
  CHECK(jwk.size() == 4);
  CHECK(acme::jws_algorithm(key.get()) == "ES256");

  nlohmann::json header = {{"nonce", "abc"}, {"url", "https://ca.test/acme/new-order"}, {"kid", "https://ca.test/acct/1"}};
  std::string body = acme::jws_encode(key.get(), header, R"({"identifiers":[]})", error);
  REQUIRE_FALSE(body.empty());
  auto jws = nlohmann::json::parse(body);
  auto protected_json = nlohmann::json::parse(base64url_decode(jws["protected"]));
  CHECK(protected_json["alg"] == "ES256");
  CHECK(protected_json["kid"] == "https://ca.test/acct/1");
  CHECK(protected_json["nonce"] == "abc");
  CHECK(base64url_decode(jws["payload"]) == R"({"identifiers":[]})");
  std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  std::string sig = base64url_decode(jws["signature"]);
  CHECK(verify_es256(key.get(), input, sig));
  sig[5] ^= 1;
  CHECK_FALSE(verify_es256(key.get(), input, sig));
}

TEST_CASE("POST-as-GET has an empty payload") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
  auto jws = nlohmann::json::parse(acme::jws_encode(key.get(), {{"nonce", "n"}, {"url", "u"}}, "", error));
  CHECK(jws["payload"] == "");
}

TEST_CASE("RS256 JWS over an RSA key verifies with OpenSSL") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::rsa2048, error);
  REQUIRE(key);
  auto jwk = acme::public_jwk(key.get());
  CHECK(jwk["kty"] == "RSA");
  CHECK(jwk["e"] == "AQAB");
  CHECK(acme::jws_algorithm(key.get()) == "RS256");
  std::string sig = acme::jws_sign(key.get(), "a.b", error);
  REQUIRE(sig.size() == 256);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  REQUIRE(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1);
  CHECK(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>("a.b"), 3) == 1);
  EVP_MD_CTX_free(ctx);
}

TEST_CASE("ES384 signatures are 96 bytes") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::ec_p384, error);
  CHECK(acme::jws_algorithm(key.get()) == "ES384");
  CHECK(acme::public_jwk(key.get())["crv"] == "P-384");
  CHECK(acme::jws_sign(key.get(), "x", error).size() == 96);
}
