#include <catch2/catch.hpp>

#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/atomic_file.hpp"
#include "tls/acme_json.hpp"
#include "tls/base64.hpp"
#include "tls_test_util.hpp"

using namespace portier;
using namespace portier::tls;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/portier-acme-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// DER of `key`: the traditional encoding (PKCS#1 RSA, SEC1 EC) or PKCS#8.
std::string der_of(EVP_PKEY* key, bool traditional) {
  if (traditional) {
    unsigned char* der = nullptr;
    int n = i2d_PrivateKey(key, &der);
    std::string out(reinterpret_cast<char*>(der), n > 0 ? n : 0);
    OPENSSL_free(der);
    return out;
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  i2d_PKCS8PrivateKey_bio(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("base64 matches Go's standard encoding") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode(std::string("\xff\xfe\x00", 3)) == "//4A");
  CHECK(base64_decode("Zm9vYg==") == std::optional<std::string>("foob"));
  CHECK(base64_decode("Zm9vYg") == std::optional<std::string>("foob"));
  CHECK(base64_decode("Zm9v\nYmFy") == std::optional<std::string>("foobar"));
  CHECK_FALSE(base64_decode("Zm9v!"));
  CHECK_FALSE(base64_decode("Zg==Zg=="));
  CHECK_FALSE(base64_decode("Z"));
}

TEST_CASE("acme.json: a Traefik-written file is read") {
  std::string error;
  // Traefik stores the account key as PKCS#1 RSA DER and certificates as base64 PEM.
  auto account_key = generate_key(KeyKind::rsa2048, error);
  REQUIRE(account_key);
  test::Issued ca = test::issue({}, "Fake LE Intermediate X1", KeyKind::ec_p256, nullptr, true);
  test::Issued leaf = test::issue({"*.apps.example.com", "apps.example.com"}, "", KeyKind::ec_p256, &ca);
  std::string chain = to_pem(leaf.cert.get()) + to_pem(ca.cert.get());
  std::string key = to_pem(leaf.key.get());
  std::string pkcs1 = der_of(account_key.get(), true);

  std::string text = R"({
  "letsencrypt": {
    "Account": {
      "Email": "ops@example.com",
      "Registration": {
        "body": {
          "status": "valid",
          "contact": [
            "mailto:ops@example.com"
          ]
        },
        "uri": "https://acme-v02.api.letsencrypt.org/acme/acct/123456"
      },
      "PrivateKey": ")" + base64_encode(pkcs1) + R"(",
      "KeyType": "4096"
    },
    "Certificates": [
      {
        "domain": {
          "main": "*.apps.example.com",
          "sans": [
            "apps.example.com"
          ]
        },
        "certificate": ")" + base64_encode(chain) + R"(",
        "key": ")" + base64_encode(key) + R"(",
        "Store": "default"
      }
    ]
  },
  "staging": {
    "Account": null,
    "Certificates": null
  }
})";
  auto result = parse_acme_json(text);
  REQUIRE(result.ok);
  CHECK(result.problems.empty());
  REQUIRE(result.store.size() == 2);
  const auto& le = result.store.at("letsencrypt");
  REQUIRE(le.account);
  CHECK(le.account->email == "ops@example.com");
  CHECK(le.account->registration_uri == "https://acme-v02.api.letsencrypt.org/acme/acct/123456");
  CHECK(le.account->registration_body == R"({"status":"valid","contact":["mailto:ops@example.com"]})");
  CHECK(le.account->key_type == "4096");
  CHECK(le.account->private_key_der == pkcs1);
  auto parsed_key = load_private_key_der(le.account->private_key_der, error);
  REQUIRE(parsed_key);
  CHECK(EVP_PKEY_eq(parsed_key.get(), account_key.get()) == 1);

  REQUIRE(le.certificates.size() == 1);
  const auto& cert = le.certificates[0];
  CHECK(cert.main == "*.apps.example.com");
  CHECK(cert.sans == std::vector<std::string>{"apps.example.com"});
  CHECK(cert.store == "default");
  auto entry = make_cert_entry(cert.certificate_pem, cert.key_pem, "acme", "letsencrypt");
  REQUIRE(entry.entry);
  CHECK(entry.entry->names == std::vector<std::string>{"*.apps.example.com", "apps.example.com"});
  CHECK(sk_X509_num(entry.entry->chain.get()) == 1);

  const auto& staging = result.store.at("staging");
  CHECK_FALSE(staging.account);
  CHECK(staging.certificates.empty());
}

TEST_CASE("acme.json: account keys in SEC1 and PKCS#8 DER load too") {
  std::string error;
  auto ec = generate_key(KeyKind::ec_p256, error);
  for (bool traditional : {true, false}) {
    auto loaded = load_private_key_der(der_of(ec.get(), traditional), error);
    REQUIRE(loaded);
    CHECK(EVP_PKEY_eq(loaded.get(), ec.get()) == 1);
  }
  CHECK_FALSE(load_private_key_der("junk", error));
}

TEST_CASE("acme.json: round trip through text and file, mode 0600") {
  AcmeStore store;
  AcmeAccount account;
  account.email = "a@example.com";
  account.registration_uri = "https://ca.test/acct/1";
  account.registration_body = R"({"status":"valid"})";
  account.private_key_der = std::string("\x30\x82\x00\x01\xff", 5);
  account.key_type = "EC256";
  AcmeCertificate c1{"one.example.com", {}, "-----BEGIN CERTIFICATE-----\nAA==\n", "-----BEGIN EC PRIVATE KEY-----\n", "default"};
  AcmeCertificate c2{"*.two.example.com", {"two.example.com"}, "chain", "key", "default"};
  store["le"] = AcmeResolverData{account, {c1, c2}};
  store["empty"] = AcmeResolverData{};

  std::string text = acme_json_text(store);
  CHECK(text.find("\n  \"empty\": {\n    \"Account\": null,\n    \"Certificates\": []") != std::string::npos);
  CHECK(text.find("\"Store\": \"default\"") != std::string::npos);
  CHECK(text.find("\"sans\"") == text.rfind("\"sans\""));  // omitted when empty, like Go's omitempty
  auto parsed = parse_acme_json(text);
  REQUIRE(parsed.ok);
  CHECK(parsed.problems.empty());
  CHECK(parsed.store == store);

  TempDir dir;
  std::string path = dir.path + "/acme.json";
  auto missing = read_acme_json_file(path);
  CHECK(missing.ok);
  CHECK(missing.store.empty());

  REQUIRE(write_acme_json_file(path, store).empty());
  CHECK(mode_of(path) == 0600);
  CHECK(check_acme_json_mode(path).empty());
  auto reread = read_acme_json_file(path);
  REQUIRE(reread.ok);
  CHECK(reread.store == store);

  ::chmod(path.c_str(), 0644);
  std::string error = check_acme_json_mode(path);
  CHECK(error == path + ": permissions 644 are too open, please use 600 (chmod 600 " + path + ")");
  auto refused = read_acme_json_file(path);
  CHECK_FALSE(refused.ok);
  REQUIRE(refused.problems.size() == 1);
  CHECK(refused.problems[0].message == error);

  REQUIRE(write_acme_json_file(path, store).empty());  // the rewrite restores 0600
  CHECK(mode_of(path) == 0600);
}

TEST_CASE("acme.json: tolerant reading, clear failures") {
  SECTION("empty and whitespace files are empty stores") {
    for (std::string_view text : {"", "  \n"}) {
      auto r = parse_acme_json(text);
      CHECK(r.ok);
      CHECK(r.store.empty());
    }
  }
  SECTION("a bad certificate is skipped with its path, the rest is kept") {
    std::string text = R"({"le": {"Account": null, "Certificates": [
      {"domain": {"main": "bad.example.com"}, "certificate": "!!!", "key": "a2V5", "Store": "default"},
      {"domain": {"main": "good.example.com"}, "certificate": "Y2VydA==", "key": "a2V5", "Store": "default"},
      {"certificate": "Y2VydA==", "key": "a2V5"}
    ]}})";
    auto r = parse_acme_json(text);
    CHECK(r.ok);
    REQUIRE(r.problems.size() == 2);
    CHECK(r.problems[0].path == "acme.json: le.Certificates[0].certificate");
    CHECK(r.problems[1].path == "acme.json: le.Certificates[2].domain.main");
    REQUIRE(r.store.at("le").certificates.size() == 1);
    CHECK(r.store.at("le").certificates[0].main == "good.example.com");
    CHECK(r.store.at("le").certificates[0].certificate_pem == "cert");
  }
  SECTION("unusable files are not ok") {
    CHECK_FALSE(parse_acme_json("{not json").ok);
    CHECK_FALSE(parse_acme_json("[]").ok);
    CHECK_FALSE(parse_acme_json(R"({"le": {"Certificates": {}}})").ok);
    auto v1 = parse_acme_json(R"({"Account": {"Email": "x", "PrivateKey": "AA=="}, "Certificates": []})");
    CHECK_FALSE(v1.ok);
    REQUIRE(v1.problems.size() == 1);
    CHECK(v1.problems[0].message.find("Traefik v1") != std::string::npos);
  }
}

// Found by tests/fuzz/acme_json_fuzz: a Registration with a uri and no body read as body "",
// was written back as "body": {} and then read as body "{}": a rewrite changed the account.
TEST_CASE("acme.json: a registration without body survives a rewrite unchanged", "[fuzz]") {
  const std::string text = R"({"le": {"Account": {"Email": "ops@example.com",
    "Registration": {"uri": "https://ca.example/acct/1"}, "PrivateKey": "", "KeyType": "EC256"},
    "Certificates": []}})";
  auto first = parse_acme_json(text);
  REQUIRE(first.ok);
  REQUIRE(first.store.at("le").account);
  CHECK(first.store.at("le").account->registration_uri == "https://ca.example/acct/1");
  CHECK(first.store.at("le").account->registration_body.empty());
  auto again = parse_acme_json(acme_json_text(first.store));
  REQUIRE(again.ok);
  CHECK(again.store == first.store);
}
