#include "tls/openssl_ptr.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "core/atomic_file.hpp"

namespace portier::tls {

X509Ptr share(X509* cert) {
  if (cert) X509_up_ref(cert);
  return X509Ptr(cert);
}

EvpPkeyPtr share(EVP_PKEY* key) {
  if (key) EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}

SslCtxPtr share(SSL_CTX* ctx) {
  if (ctx) SSL_CTX_up_ref(ctx);
  return SslCtxPtr(ctx);
}

std::string openssl_errors() {
  std::string out;
  char buf[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

bool looks_like_pem(std::string_view text) { return text.find("-----BEGIN ") != std::string_view::npos; }

bool read_pem_source(const std::string& path_or_pem, std::string& pem, std::string& error) {
  if (looks_like_pem(path_or_pem)) {
    pem = path_or_pem;
    return true;
  }
  auto content = core::read_file(path_or_pem, &error);
  if (!content) return false;
  pem = std::move(*content);
  return true;
}

static BioPtr memory_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::vector<X509Ptr> load_certificates_pem(std::string_view pem, std::string& error) {
  std::vector<X509Ptr> out;
  auto bio = memory_bio(pem);
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
  ERR_clear_error();  // the loop always ends on "no start line"
  if (out.empty()) error = "no PEM certificate found";
  return out;
}

EvpPkeyPtr load_private_key_pem(std::string_view pem, std::string& error) {
  auto bio = memory_bio(pem);
  ERR_clear_error();
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) error = "no usable PEM private key: " + openssl_errors();
  return key;
}

EvpPkeyPtr load_private_key_der(std::string_view der, std::string& error) {
  ERR_clear_error();
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  // d2i_AutoPrivateKey recognises PKCS#8 and the traditional RSA/EC encodings.
  EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!key) error = "no usable DER private key: " + openssl_errors();
  return key;
}

static std::string drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return drain(bio.get());
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return drain(bio.get());
}

}  // namespace portier::tls
