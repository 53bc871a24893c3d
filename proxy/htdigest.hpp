#pragma once
// digestAuth's credentials (RFC 7616 with MD5, as Traefik's go-http-auth): htdigest lines
// "name:realm:HA1" (the `users` list and the usersFile), the parameters of a
// `Authorization: Digest ...` header, and the digests themselves. Parsing and hashing only
// (fuzzed by tests/fuzz/access_fuzz.cpp); the nonce bookkeeping is the middleware's.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portier::proxy {

using HtdigestUsers = std::map<std::string, std::string>;  // "name:realm" -> HA1 (hex MD5)

// Adds the lines of a users file (as parse_htpasswd) or the `users` list. False and *error
// ("line 3: expected name:realm:hash") on a malformed entry.
bool parse_htdigest(std::string_view text, HtdigestUsers& users, std::string* error);
bool parse_htdigest_list(const std::vector<std::string>& entries, HtdigestUsers& users, std::string* error);

// The parameters of "Digest k=v, k2="quoted", ..." (scheme case-insensitive, keys lower-cased,
// quoted values unescaped). Nullopt when it is not a Digest header or does not parse, or a key
// repeats.
std::optional<std::map<std::string, std::string>> parse_digest_authorization(std::string_view value);

// Lower-case hex MD5 of `text` (OpenSSL EVP).
std::string md5_hex(std::string_view text);

}  // namespace portier::proxy
