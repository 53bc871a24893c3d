#include "acme/csr.hpp"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

using namespace portier;

TEST_CASE("Traefik and lego key type names") {
  tls::KeyKind k{};
  CHECK(acme::parse_key_type("EC256", k));
  CHECK(k == tls::KeyKind::ec_p256);
  CHECK(acme::parse_key_type("EC384", k));
  CHECK(k == tls::KeyKind::ec_p384);
  CHECK(acme::parse_key_type("RSA2048", k));
  CHECK(k == tls::KeyKind::rsa2048);
  CHECK(acme::parse_key_type("rsa4096", k));
  CHECK(k == tls::KeyKind::rsa4096);
  CHECK(acme::parse_key_type("4096", k));
  CHECK(acme::parse_key_type("P256", k));
  CHECK(k == tls::KeyKind::ec_p256);
  CHECK_FALSE(acme::parse_key_type("RSA8192", k));
  CHECK_FALSE(acme::parse_key_type("", k));
  CHECK(acme::lego_key_type(tls::KeyKind::rsa4096) == "4096");
  CHECK(acme::lego_key_type(tls::KeyKind::ec_p256) == "P256");
}

TEST_CASE("CSR carries every name as a SAN, the first as CN, and verifies") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
  REQUIRE(key);
  std::string der = acme::make_csr_der(key.get(), {"app.example.com", "*.example.com", "www.example.com"}, error);
  REQUIRE_FALSE(der.empty());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  REQUIRE(req);
  CHECK(X509_REQ_verify(req, key.get()) == 1);

  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
  CHECK(std::string(cn) == "app.example.com");

  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  REQUIRE(exts);
  std::vector<std::string> sans;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, j);
      if (gn->type == GEN_DNS)
        sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                          ASN1_STRING_length(gn->d.dNSName));
    }
    GENERAL_NAMES_free(names);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  CHECK(sans == std::vector<std::string>{"app.example.com", "*.example.com", "www.example.com"});
}

TEST_CASE("CSR with RSA key and an over-long first name has no CN") {
  std::string error;
  auto key = tls::generate_key(tls::KeyKind::rsa2048, error);
  std::string longname = std::string(70, 'a') + ".example.com";
  std::string der = acme::make_csr_der(key.get(), {longname}, error);
  REQUIRE_FALSE(der.empty());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  REQUIRE(req);
  CHECK(X509_REQ_verify(req, key.get()) == 1);
  CHECK(X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0);
  X509_REQ_free(req);
  CHECK(acme::make_csr_der(key.get(), {}, error).empty());
}
