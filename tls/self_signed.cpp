#include "tls/self_signed.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace portier::tls {

EvpPkeyPtr generate_key(KeyKind kind, std::string& error) {
  EVP_PKEY* key = nullptr;
  switch (kind) {
    case KeyKind::ec_p256: key = EVP_EC_gen("P-256"); break;
    case KeyKind::ec_p384: key = EVP_EC_gen("P-384"); break;
    case KeyKind::rsa2048: key = EVP_RSA_gen(2048); break;
    case KeyKind::rsa4096: key = EVP_RSA_gen(4096); break;
  }
  if (!key) error = "key generation failed: " + openssl_errors();
  return EvpPkeyPtr(key);
}

static bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

static bool set_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

// id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical, extnValue = DER OCTET STRING(digest).
static bool add_acme_identifier(X509* cert, const std::string& digest) {
  if (digest.size() > 127) return false;  // short-form DER length below
  std::string der = {'\x04', static_cast<char>(digest.size())};
  der += digest;
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  bool ok = oid && value &&
            ASN1_OCTET_STRING_set(value, reinterpret_cast<const unsigned char*>(der.data()),
                                  static_cast<int>(der.size())) == 1;
  X509_EXTENSION* ext = ok ? X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value) : nullptr;
  ok = ext && X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(value);
  ASN1_OBJECT_free(oid);
  return ok;
}

static bool add_extensions(X509* cert, X509* issuer, const CertRequest& req) {
  if (!req.acme_identifier.empty() && !add_acme_identifier(cert, req.acme_identifier)) return false;
  std::string san;
  for (const auto& name : req.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  if (!san.empty() && !add_extension(cert, issuer, NID_subject_alt_name, san)) return false;
  if (!add_extension(cert, issuer, NID_basic_constraints, req.is_ca ? "critical,CA:TRUE" : "CA:FALSE"))
    return false;
  if (!req.is_ca && !add_extension(cert, issuer, NID_ext_key_usage, "serverAuth")) return false;
  if (!req.ocsp_url.empty() &&
      !add_extension(cert, issuer, NID_info_access, "OCSP;URI:" + req.ocsp_url))
    return false;
  return true;
}

X509Ptr make_certificate(EVP_PKEY* key, const CertRequest& req, std::string& error) {
  X509Ptr cert(X509_new());
  EVP_PKEY* signer = req.issuer_key ? req.issuer_key : key;
  X509* issuer = req.issuer_cert ? req.issuer_cert : cert.get();
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && set_serial(cert.get());
  if (ok) {
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!req.common_name.empty())
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(req.common_name.c_str()), -1, -1, 0);
    ok = X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(cert.get()), long(req.not_before_offset_days) * 86400) &&
         X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                         long(req.not_before_offset_days + req.valid_days) * 86400) &&
         X509_set_pubkey(cert.get(), key) == 1 && add_extensions(cert.get(), issuer, req) &&
         X509_sign(cert.get(), signer, EVP_sha256()) > 0;
  }
  if (!ok) {
    error = "certificate generation failed: " + openssl_errors();
    return nullptr;
  }
  return cert;
}

}  // namespace portier::tls
