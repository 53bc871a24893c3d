// tls/client_cert_header: Traefik's passTLSClientCert header values for a certificate made
// with the openssl CLI (subject with repeated and rare attributes, every SAN kind, a serial
// beyond 64 bits), the expected strings written out by hand from Traefik's format.
#include "tls/client_cert_header.hpp"

#include <catch2/catch.hpp>

#include "tls/openssl_ptr.hpp"

using namespace portier;

namespace {

// Made with openssl req -subj "/DC=org/DC=example/C=FR/C=US/ST=Occitanie/L=Toulouse/O=Cheese/
//   O=Cheese 2/OU=Ops/serialNumber=42/CN=alice client" (one line), signed by "/DC=org/DC=ca/
//   C=DE/ST=Bayern/L=Munich/O=Issuer Org/OU=CA Unit/serialNumber=7/CN=Unit CA", -set_serial
//   1234567890123456789012345, subjectAltName DNS:a.example,DNS:b.example,email:x@example.org,
//   IP:10.0.1.2,IP:2001:db8:0:0:1:0:0:1,IP:::ffff:10.0.0.1,IP:::1,URI:spiffe://example/x
const char* kPem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDITCCAsegAwIBAgILAQVuDzamRD3i33kwCgYIKoZIzj0EAwIwgZ0xEzARBgoJ\n"
    "kiaJk/IsZAEZFgNvcmcxEjAQBgoJkiaJk/IsZAEZFgJjYTELMAkGA1UEBhMCREUx\n"
    "DzANBgNVBAgMBkJheWVybjEPMA0GA1UEBwwGTXVuaWNoMRMwEQYDVQQKDApJc3N1\n"
    "ZXIgT3JnMRAwDgYDVQQLDAdDQSBVbml0MQowCAYDVQQFEwE3MRAwDgYDVQQDDAdV\n"
    "bml0IENBMB4XDTI2MTIwNjA1NTQ1NloXDTM2MTIwMzA1NTQ1NlowgcUxEzARBgoJ\n"
    "kiaJk/IsZAEZFgNvcmcxFzAVBgoJkiaJk/IsZAEZFgdleGFtcGxlMQswCQYDVQQG\n"
    "EwJGUjELMAkGA1UEBhMCVVMxEjAQBgNVBAgMCU9jY2l0YW5pZTERMA8GA1UEBwwI\n"
    "VG91bG91c2UxDzANBgNVBAoMBkNoZWVzZTERMA8GA1UECgwIQ2hlZXNlIDIxDDAK\n"
    "BgNVBAsMA09wczELMAkGA1UEBRMCNDIxFTATBgNVBAMMDGFsaWNlIGNsaWVudDBZ\n"
    "MBMGByqGSM49AgEGCCqGSM49AwEHA0IABG2r06xKsP70nRyOXu54vB7sWrMxHzQb\n"
    "jCJ4VXHSJkKv8KwRxTCd0M6nrSfBsbu6XehEPSeujQFI4Cm25XjQI7ujgcMwgcAw\n"
    "fgYDVR0RBHcwdYIJYS5leGFtcGxlggliLmV4YW1wbGWBDXhAZXhhbXBsZS5vcmeH\n"
    "BAoAAQKHECABDbgAAAAAAAEAAAAAAAGHEAAAAAAAAAAAAAD//woAAAGHEAAAAAAA\n"
    "AAAAAAAAAAAAAAGGEnNwaWZmZTovL2V4YW1wbGUveDAdBgNVHQ4EFgQUPqUmR2rR\n"
    "JFqegHreITkfCVThKDswHwYDVR0jBBgwFoAUO5ApWyI4f7fenD0YpCCgig0om5kw\n"
    "CgYIKoZIzj0EAwIDSAAwRQIhAKJbgkIodZrp8ITQWrYLsjvmRBBm5Ru62XCcBGI8\n"
    "FrGlAiBQ6xHDvNAleXCW8oA70EIxY4rPriwspSxyghojhohS1A==\n"
    "-----END CERTIFICATE-----\n";

tls::X509Ptr load() {
  std::string error;
  auto certs = tls::load_certificates_pem(kPem, error);
  REQUIRE(certs.size() == 1);
  return std::move(certs.front());
}

config::ClientCertDn all_dn() { return {true, true, true, true, true, true, true, true}; }

}  // namespace

TEST_CASE("client_cert_info_header: every field, Traefik's order and separators") {
  auto cert = load();
  config::ClientCertInfo info{true, true, true, true, all_dn(), all_dn()};
  std::string expected =
      "Subject=\"DC=org,DC=example,C=FR,C=US,ST=Occitanie,L=Toulouse,O=Cheese,O=Cheese "
      "2,OU=Ops,SN=42,"
      "CN=alice client\";Issuer=\"DC=org,DC=ca,C=DE,ST=Bayern,L=Munich,O=Issuer Org,SN=7,CN=Unit "
      "CA\";"
      "SerialNumber=\"1234567890123456789012345\";NB=\"1796536496\";NA=\"2111896496\";"
      "SAN=\"a.example,b.example,x@example.org,10.0.1.2,2001:db8::1:0:0:1,10.0.0.1,::1,spiffe://"
      "example/x\"";
  CHECK(tls::client_cert_info_header({cert.get()}, info) == tls::query_escape(expected));
}

TEST_CASE("client_cert_info_header: only the selected fields; empty parts left out") {
  auto cert = load();
  config::ClientCertInfo info;
  info.subject = config::ClientCertDn{};
  info.subject->common_name = true;
  info.issuer = config::ClientCertDn{};  // nothing selected: no Issuer part
  info.not_after = true;
  CHECK(tls::client_cert_info_header({cert.get()}, info) ==
        tls::query_escape("Subject=\"CN=alice client\";NA=\"2111896496\""));
  // Two certificates: "," between them.
  CHECK(tls::client_cert_info_header({cert.get(), cert.get()}, info) ==
        tls::query_escape("Subject=\"CN=alice client\";NA=\"2111896496\",Subject=\"CN=alice "
                          "client\";NA=\"2111896496\""));
}

TEST_CASE("client_cert_pem_header: the PEM body without armour and line breaks") {
  auto cert = load();
  std::string body = kPem;
  body = body.substr(body.find('\n') + 1);
  body = body.substr(0, body.find("-----END"));
  std::erase(body, '\n');
  CHECK(tls::client_cert_pem_header({cert.get()}) == body);
  CHECK(tls::client_cert_pem_header({cert.get(), cert.get()}) == body + "," + body);
  CHECK(tls::client_cert_pem_header({}).empty());
}

TEST_CASE("query_escape is Go's url.QueryEscape") {
  CHECK(tls::query_escape("aZ09-_.~") == "aZ09-_.~");
  CHECK(tls::query_escape("a b=c,d\";e/f+g") == "a+b%3Dc%2Cd%22%3Be%2Ff%2Bg");
  CHECK(tls::query_escape("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("peer_certificates: none without an SSL") {
  CHECK(tls::peer_certificates(nullptr).empty());
}
