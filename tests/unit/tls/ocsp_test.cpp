// OCSP requests and response verification against OpenSSL's own responder (`openssl ocsp
// -index ... -reqin ... -respout ...`, the same code as its HTTP responder, run offline).
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tls/ocsp.hpp"
#include "tls_test_util.hpp"

using namespace portier::tls;
using namespace portier::tls::test;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// A CA, a leaf it issued (with an AIA OCSP URL) and a scratch directory for the responder.
struct Pki {
  fs::path dir;
  Issued ca = issue({}, "Test OCSP CA", KeyKind::ec_p256, nullptr, true);
  Issued leaf = issue({"leaf.example.test"}, "", KeyKind::ec_p256, &ca, false, "http://127.0.0.1:1/");
  CertEntryPtr entry;

  Pki() {
    char tmpl[] = "/tmp/portier-ocsp-XXXXXX";
    dir = mkdtemp(tmpl);
    write_file(dir / "ca.pem", to_pem(ca.cert.get()));
    write_file(dir / "ca.key", to_pem(ca.key.get()));
    write_file(dir / "leaf.pem", to_pem(leaf.cert.get()));
    std::vector<X509Ptr> chain;
    chain.push_back(share(leaf.cert.get()));
    chain.push_back(share(ca.cert.get()));
    entry = make_cert_entry(std::move(chain), share(leaf.key.get()), "file").entry;
    REQUIRE(entry);
    index('V');
  }
  ~Pki() { fs::remove_all(dir); }

  // One index.txt line for the leaf: 'V' valid, 'R' revoked.
  void index(char status) {
    std::string line = std::string(1, status) + "\t301231235959Z\t" +
                       (status == 'R' ? "240101000000Z" : "") + "\t" + serial_hex(leaf.cert.get()) +
                       "\tunknown\t/CN=leaf.example.test\n";
    write_file(dir / "index.txt", line);
  }

  // Answers `request` as `openssl ocsp` would, signed by `signer` (files in dir).
  std::string respond(const std::string& request, const std::string& signer = "ca",
                      const std::string& extra = "-nmin 10") {
    write_file(dir / "req.der", request);
    fs::remove(dir / "resp.der");
    std::string d = dir.string() + "/";
    int rc = run("openssl ocsp -index " + d + "index.txt -CA " + d + "ca.pem -rsigner " + d + signer +
                 ".pem -rkey " + d + signer + ".key -reqin " + d + "req.der -respout " + d + "resp.der " + extra);
    REQUIRE(rc == 0);
    return read_file(dir / "resp.der");
  }

  // A responder certificate issued by `issuer_name` (files in dir), with or without the
  // id-kp-OCSPSigning extended key usage.
  void make_responder(const std::string& name, const std::string& issuer_name, bool ocsp_signing) {
    std::string d = dir.string() + "/";
    write_file(dir / "ext.cnf", ocsp_signing ? "extendedKeyUsage=OCSPSigning\n" : "keyUsage=digitalSignature\n");
    REQUIRE(run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d + name +
                ".key -out " + d + name + ".csr -subj /CN=" + name) == 0);
    REQUIRE(run("openssl x509 -req -in " + d + name + ".csr -CA " + d + issuer_name + ".pem -CAkey " + d +
                issuer_name + ".key -CAcreateserial -days 2 -extfile " + d + "ext.cnf -out " + d + name + ".pem") == 0);
  }
};

}  // namespace

TEST_CASE("OCSP: a good response from the issuer verifies") {
  Pki pki;
  auto req = make_ocsp_request(*pki.entry);
  REQUIRE(req.error.empty());
  REQUIRE_FALSE(req.der.empty());
  auto now = Clock::now();
  auto v = verify_ocsp_response(*pki.entry, pki.respond(req.der), now);
  INFO(v.error);
  REQUIRE(v.ok());
  CHECK(v.status == OcspCertStatus::good);
  CHECK(v.this_update <= now + std::chrono::seconds(5));
  CHECK(v.next_update - v.this_update == std::chrono::minutes(10));

  SECTION("and is rejected once expired") {
    auto late = verify_ocsp_response(*pki.entry, pki.respond(req.der), now + std::chrono::minutes(11));
    CHECK_THAT(late.error, Catch::Contains("expired"));
  }
  SECTION("and is rejected for another certificate of the same CA") {
    Issued other = issue({"other.example.test"}, "", KeyKind::ec_p256, &pki.ca);
    std::vector<X509Ptr> chain;
    chain.push_back(std::move(other.cert));
    chain.push_back(share(pki.ca.cert.get()));
    auto e = make_cert_entry(std::move(chain), std::move(other.key), "file").entry;
    CHECK_THAT(verify_ocsp_response(*e, pki.respond(req.der), now).error, Catch::Contains("does not cover"));
  }
}

TEST_CASE("OCSP: revoked and unknown statuses") {
  Pki pki;
  auto req = make_ocsp_request(*pki.entry);
  pki.index('R');
  auto revoked = verify_ocsp_response(*pki.entry, pki.respond(req.der), Clock::now());
  INFO(revoked.error);
  REQUIRE(revoked.ok());
  CHECK(revoked.status == OcspCertStatus::revoked);

  write_file(pki.dir / "index.txt", "");
  auto unknown = verify_ocsp_response(*pki.entry, pki.respond(req.der), Clock::now());
  CHECK_THAT(unknown.error, Catch::Contains("unknown"));
}

TEST_CASE("OCSP: delegated responders need the issuer's certification and id-kp-OCSPSigning") {
  Pki pki;
  auto req = make_ocsp_request(*pki.entry);
  pki.make_responder("delegate", "ca", true);
  auto ok = verify_ocsp_response(*pki.entry, pki.respond(req.der, "delegate"), Clock::now());
  INFO(ok.error);
  CHECK(ok.ok());

  pki.make_responder("noeku", "ca", false);
  CHECK_THAT(verify_ocsp_response(*pki.entry, pki.respond(req.der, "noeku"), Clock::now()).error,
             Catch::Contains("signature not verified"));

  // A responder certified by some other CA.
  Issued stranger = issue({}, "Stranger CA", KeyKind::ec_p256, nullptr, true);
  write_file(pki.dir / "stranger.pem", to_pem(stranger.cert.get()));
  write_file(pki.dir / "stranger.key", to_pem(stranger.key.get()));
  pki.make_responder("foreign", "stranger", true);
  CHECK_THAT(verify_ocsp_response(*pki.entry, pki.respond(req.der, "foreign"), Clock::now()).error,
             Catch::Contains("signature not verified"));
}

TEST_CASE("OCSP: malformed, unsuccessful and undated responses") {
  Pki pki;
  auto req = make_ocsp_request(*pki.entry);
  CHECK_THAT(verify_ocsp_response(*pki.entry, "garbage", Clock::now()).error, Catch::Contains("not a DER"));
  // tryLater (3): OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }
  CHECK_THAT(verify_ocsp_response(*pki.entry, std::string("\x30\x03\x0a\x01\x03", 5), Clock::now()).error,
             Catch::Contains("trylater"));
  // Without -nmin/-ndays the responder sends no nextUpdate: valid for an hour from now.
  auto now = Clock::now();
  auto v = verify_ocsp_response(*pki.entry, pki.respond(req.der, "ca", ""), now);
  INFO(v.error);
  REQUIRE(v.ok());
  CHECK(v.next_update == now + std::chrono::hours(1));
}

TEST_CASE("OCSP: no request without the issuer in the chain") {
  Pki pki;
  std::vector<X509Ptr> chain;
  chain.push_back(share(pki.leaf.cert.get()));
  auto alone = make_cert_entry(std::move(chain), share(pki.leaf.key.get()), "file").entry;
  CHECK_THAT(make_ocsp_request(*alone).error, Catch::Contains("issuer"));
  CHECK(find_issuer(*pki.entry) == pki.ca.cert.get());
}
