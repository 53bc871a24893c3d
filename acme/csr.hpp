#pragma once
// Certificate keys and signing requests for ACME finalize (RFC 8555 §7.4). Thread-safe.
#include <string>
#include <string_view>
#include <vector>

#include "tls/self_signed.hpp"

namespace portier::acme {

// Traefik's keyType names (EC256, EC384, RSA2048, RSA4096) and lego's (P256, P384, 2048,
// 4096), case-insensitive. False for anything else (RSA8192 is not supported).
bool parse_key_type(std::string_view name, tls::KeyKind& out);

// lego's name, as Traefik stores it in acme.json's Account.KeyType ("P256", "4096", …).
std::string lego_key_type(tls::KeyKind kind);

// DER PKCS#10 request for `names` (first = subject CN when it fits in 64 bytes; all as DNS
// SANs), signed with `key` (SHA-256). "" + error on failure.
std::string make_csr_der(EVP_PKEY* key, const std::vector<std::string>& names, std::string& error);

}  // namespace portier::acme
