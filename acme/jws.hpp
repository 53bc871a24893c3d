#pragma once
// JSON Web Signature for ACME (RFC 7515 flattened JSON serialization, RFC 8555 §6.2), JWK
// (RFC 7517) and JWK thumbprints (RFC 7638). Keys: ECDSA P-256 (ES256), P-384 (ES384) and RSA
// (RS256). Pure functions, thread-safe.
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace portier::acme {

// RFC 4648 §5 base64url without padding.
std::string base64url(std::string_view bytes);
// Its inverse; padding optional. nullopt on any byte outside the base64url alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

std::string sha256(std::string_view bytes);

// The public JWK of `key` with only the required members (EC: crv, kty, x, y; RSA: e, kty, n).
// Null json when the key type is not supported.
nlohmann::json public_jwk(EVP_PKEY* key);

// "ES256", "ES384" or "RS256"; "" when not supported.
std::string jws_algorithm(EVP_PKEY* key);

// base64url(SHA-256(canonical JWK)), RFC 7638 §3.
std::string jwk_thumbprint(const nlohmann::json& jwk);

// RFC 8555 §8.4: the TXT record value for a dns-01 challenge token.
std::string dns01_txt_value(std::string_view token, std::string_view thumbprint);

// Signs `signing_input` ("protected.payload") with `key`: ES* as the fixed-size R||S
// concatenation (RFC 7518 §3.4), RS256 as PKCS#1 v1.5. "" + error on failure.
std::string jws_sign(EVP_PKEY* key, std::string_view signing_input, std::string& error);

// Flattened JWS. `protected_header` gets "alg"; `payload` is the exact payload text ("" for
// POST-as-GET). Returns the request body, "" + error on failure.
std::string jws_encode(EVP_PKEY* key, nlohmann::json protected_header, std::string_view payload,
                       std::string& error);

// RFC 8555 §7.3.4: the externalAccountBinding member of a newAccount payload, a flattened JWS
// (HS256) whose payload is the account's public `jwk`, with `kid` and the newAccount `url` in
// its protected header, MAC'd with `hmac_key` (raw bytes). Null json + error on failure.
nlohmann::json eab_jws(const nlohmann::json& jwk, std::string_view kid, std::string_view hmac_key,
                       std::string_view url, std::string& error);

}  // namespace portier::acme
