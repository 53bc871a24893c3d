#include "acme/jws.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cctype>
#include <memory>
#include <vector>

#include "tls/base64.hpp"
#include "tls/openssl_ptr.hpp"

namespace portier::acme {
namespace {

struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };

BnPtr bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return nullptr;
  return BnPtr(bn);
}

// Big-endian bytes of `bn`, left-padded to `width` (0 = minimal length).
std::string bn_bytes(const BIGNUM* bn, int width) {
  int n = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(n), '\0');
  if (width > 0) BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);
  else BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// 32 for P-256, 48 for P-384, 0 otherwise.
int ec_coordinate_size(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) return 0;
  std::string_view g(group, len);
  if (g == "prime256v1" || g == "P-256") return 32;
  if (g == "secp384r1" || g == "P-384") return 48;
  return 0;
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    unsigned v = byte(i) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
  } else if (i + 2 == bytes.size()) {
    unsigned v = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || std::isspace(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return tls::base64_decode(standard);
}

std::string sha256(std::string_view bytes) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

nlohmann::json public_jwk(EVP_PKEY* key) {
  if (!key) return nullptr;
  if (EVP_PKEY_base_id(key) == EVP_PKEY_EC) {
    int size = ec_coordinate_size(key);
    auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X);
    auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y);
    if (size == 0 || !x || !y) return nullptr;
    return {{"crv", size == 32 ? "P-256" : "P-384"},
            {"kty", "EC"},
            {"x", base64url(bn_bytes(x.get(), size))},
            {"y", base64url(bn_bytes(y.get(), size))}};
  }
  if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) {
    auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N);
    auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) return nullptr;
    return {{"e", base64url(bn_bytes(e.get(), 0))}, {"kty", "RSA"}, {"n", base64url(bn_bytes(n.get(), 0))}};
  }
  return nullptr;
}

std::string jws_algorithm(EVP_PKEY* key) {
  if (!key) return {};
  if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) return "RS256";
  if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) return {};
  switch (ec_coordinate_size(key)) {
    case 32: return "ES256";
    case 48: return "ES384";
    default: return {};
  }
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  // nlohmann::json objects keep keys sorted and dump() has no whitespace: exactly the
  // RFC 7638 canonical form for the required members.
  return base64url(sha256(jwk.dump()));
}

std::string dns01_txt_value(std::string_view token, std::string_view thumbprint) {
  std::string key_authorization = std::string(token) + "." + std::string(thumbprint);
  return base64url(sha256(key_authorization));
}

std::string jws_sign(EVP_PKEY* key, std::string_view signing_input, std::string& error) {
  std::string alg = jws_algorithm(key);
  if (alg.empty()) {
    error = "unsupported account key type";
    return {};
  }
  const EVP_MD* md = alg == "ES384" ? EVP_sha384() : EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) {
    error = "signing failed: " + tls::openssl_errors();
    return {};
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, signing_input.size()) != 1) {
    error = "signing failed: " + tls::openssl_errors();
    return {};
  }
  sig.resize(len);
  if (alg == "RS256") return sig;
  // DER ECDSA-Sig-Value -> R||S.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (!parsed) {
    error = "bad ECDSA signature encoding";
    return {};
  }
  int size = ec_coordinate_size(key);
  std::string out = bn_bytes(ECDSA_SIG_get0_r(parsed), size) + bn_bytes(ECDSA_SIG_get0_s(parsed), size);
  ECDSA_SIG_free(parsed);
  return out;
}

std::string jws_encode(EVP_PKEY* key, nlohmann::json protected_header, std::string_view payload,
                       std::string& error) {
  protected_header["alg"] = jws_algorithm(key);
  std::string protected64 = base64url(protected_header.dump());
  std::string payload64 = base64url(payload);
  std::string signature = jws_sign(key, protected64 + "." + payload64, error);
  if (signature.empty()) return {};
  nlohmann::json body = {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(signature)}};
  return body.dump();
}

nlohmann::json eab_jws(const nlohmann::json& jwk, std::string_view kid, std::string_view hmac_key,
                       std::string_view url, std::string& error) {
  nlohmann::json header = {{"alg", "HS256"}, {"kid", std::string(kid)}, {"url", std::string(url)}};
  std::string protected64 = base64url(header.dump());
  std::string payload64 = base64url(jwk.dump());
  std::string input = protected64 + "." + payload64;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len)) {
    error = "HMAC failed: " + tls::openssl_errors();
    return nullptr;
  }
  std::string signature(reinterpret_cast<const char*>(mac), len);
  return {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(signature)}};
}

}  // namespace portier::acme
