#include <catch2/catch.hpp>

#include <openssl/err.h>
#include <unistd.h>

#include "core/atomic_file.hpp"
#include "tls/openssl_ptr.hpp"
#include "tls/tls_policy.hpp"
#include "tls_test_util.hpp"

using namespace portier;
using namespace portier::tls;

TEST_CASE("read_pem_source: inline PEM or a file path, as Traefik's certFile/keyFile") {
  test::Issued i = test::issue({"pem.example.com"});
  std::string pem = to_pem(i.cert.get());
  std::string out, error;
  REQUIRE(read_pem_source(pem, out, error));
  CHECK(out == pem);

  char tmpl[] = "/tmp/portier-pem-XXXXXX";
  int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  ::close(fd);
  REQUIRE(core::write_file_atomic(tmpl, pem, 0600).empty());
  out.clear();
  REQUIRE(read_pem_source(tmpl, out, error));
  CHECK(out == pem);

  std::string key_pem = to_pem(i.key.get());
  auto entry = load_cert_entry(tmpl, key_pem);  // path for the cert, inline key
  REQUIRE(entry.entry);
  CHECK(entry.entry->names == std::vector<std::string>{"pem.example.com"});
  CHECK(entry.entry->source == "file");
  auto missing = load_cert_entry("/nonexistent/c.pem", key_pem);
  CHECK(missing.error.find("certFile: /nonexistent/c.pem") == 0);

  CHECK_FALSE(read_pem_source("/nonexistent/cert.pem", out, error));
  CHECK(error.find("/nonexistent/cert.pem") != std::string::npos);
  ::unlink(tmpl);
}

TEST_CASE("PEM loading and OpenSSL errors") {
  test::Issued a = test::issue({"a.example.com"});
  test::Issued b = test::issue({"b.example.com"});
  std::string error;
  auto certs = load_certificates_pem(to_pem(a.cert.get()) + to_pem(b.cert.get()), error);
  REQUIRE(certs.size() == 2);
  CHECK(X509_cmp(certs[1].get(), b.cert.get()) == 0);
  CHECK(load_certificates_pem("nothing", error).empty());
  CHECK(error == "no PEM certificate found");
  auto key = load_private_key_pem(to_pem(a.key.get()), error);
  REQUIRE(key);
  CHECK(EVP_PKEY_eq(key.get(), a.key.get()) == 1);
  CHECK_FALSE(load_private_key_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", error));
  CHECK(error.find("no usable PEM private key") == 0);
  CHECK(openssl_errors().empty());  // drained by the loader

  auto shared = share(a.cert.get());
  CHECK(shared.get() == a.cert.get());  // both owners free independently
}

TEST_CASE("TlsPolicy: Go cipher names and ALPN wire format") {
  std::string name;
  CHECK(map_cipher_suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", name));
  CHECK(name == "ECDHE-RSA-AES256-GCM-SHA384");
  CHECK(map_cipher_suite("TLS_AES_128_GCM_SHA256", name));
  CHECK(name.empty());
  CHECK_FALSE(map_cipher_suite("TLS_RSA_WITH_AES_128_GCM_SHA256", name));
  CHECK(alpn_wire({"h2", "http/1.1"}) == std::string("\x02h2\x08http/1.1", 12));

  core::Problems problems;
  config::TlsOptions options;
  options.min_version = "VersionTLS13";
  options.max_version = "VersionTLS12";
  auto policy = make_policy("x", options, {"h2"}, problems);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path == "tls.options.x.maxVersion");
  CHECK(policy->min_version == TLS1_3_VERSION);
  CHECK(policy->max_version == 0);
  CHECK(policy->alpn == std::vector<std::string>{"h2"});
  CHECK(policy->cipher_list == kDefaultCipherList);
}
