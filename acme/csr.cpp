#include "acme/csr.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

namespace portier::acme {
namespace {

struct ReqFree { void operator()(X509_REQ* p) const { X509_REQ_free(p); } };
struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION)* p) const { sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free); }
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool parse_key_type(std::string_view name, tls::KeyKind& out) {
  std::string n = upper(name);
  if (n == "EC256" || n == "P256") out = tls::KeyKind::ec_p256;
  else if (n == "EC384" || n == "P384") out = tls::KeyKind::ec_p384;
  else if (n == "RSA2048" || n == "2048") out = tls::KeyKind::rsa2048;
  else if (n == "RSA4096" || n == "4096") out = tls::KeyKind::rsa4096;
  else return false;
  return true;
}

std::string lego_key_type(tls::KeyKind kind) {
  switch (kind) {
    case tls::KeyKind::ec_p256: return "P256";
    case tls::KeyKind::ec_p384: return "P384";
    case tls::KeyKind::rsa2048: return "2048";
    case tls::KeyKind::rsa4096: return "4096";
  }
  return "P256";
}

std::string make_csr_der(EVP_PKEY* key, const std::vector<std::string>& names, std::string& error) {
  if (names.empty()) {
    error = "no names for the certificate request";
    return {};
  }
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  auto fail = [&](std::string what) {
    error = what + ": " + tls::openssl_errors();
    return std::string();
  };
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return fail("X509_REQ_new");
  if (names.front().size() <= 64) {
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(names.front().c_str());
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1) return fail("subject");
  }
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (!ext) return fail("subjectAltName");
  sk_X509_EXTENSION_push(exts.get(), ext);
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) return fail("extensions");
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return fail("public key");
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return fail("sign");
  int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return fail("encode");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

}  // namespace portier::acme
