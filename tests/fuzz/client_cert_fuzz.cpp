// libFuzzer target: the passTLSClientCert header formatting (tls/client_cert_header.*) over
// certificates a TLS client sends. Input: DER certificates back to back (the chain a client
// presents, leaf first); OpenSSL parses them as in a handshake, then every field is formatted.
// Checks: no crash; the info header holds only what Go's url.QueryEscape emits; the PEM
// header only base64 and ",".
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tls/client_cert_header.hpp"
#include "tls/openssl_ptr.hpp"

using namespace portier;

namespace {

bool only(const std::string& s, const char* extra) {
  for (unsigned char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !std::strchr(extra, c)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<tls::X509Ptr> owned;
  const unsigned char* p = data;
  const unsigned char* end = data + size;
  while (p < end && owned.size() < 8) {
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(end - p));
    if (!cert) break;
    owned.emplace_back(cert);
  }
  std::vector<X509*> certs;
  for (auto& c : owned) certs.push_back(c.get());
  config::ClientCertDn dn{true, true, true, true, true, true, true, true};
  config::ClientCertInfo info{true, true, true, true, dn, dn};
  if (!only(tls::client_cert_info_header(certs, info), "-_.~+%")) std::abort();
  if (!only(tls::client_cert_pem_header(certs), "+/=,")) std::abort();
  return 0;
}
