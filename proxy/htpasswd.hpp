#pragma once
// basicAuth's credentials, as Traefik reads them: htpasswd lines "name:hash" (the `users` list and
// the usersFile), and the Authorization header of a request. Parsing only (fuzzed by
// tests/fuzz/access_fuzz.cpp); hashes are checked by password_verifier.hpp.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portier::proxy {

using HtpasswdUsers = std::map<std::string, std::string>;  // name -> hash

// Calls add(line) for each entry of a users file (lines trimmed, blank ones and "#" comments
// skipped). False and *error ("line 3: expected <expected>") at the first line add() refuses.
bool for_each_user_line(std::string_view text, std::string_view expected,
                        const std::function<bool(std::string_view)>& add, std::string* error);

// Adds the lines of a users file (blank lines and "#" comments skipped, each line trimmed) or
// of the `users` list. False and *error ("line 3: expected name:hash") on a malformed entry.
bool parse_htpasswd(std::string_view text, HtpasswdUsers& users, std::string* error);
bool parse_htpasswd_list(const std::vector<std::string>& entries, HtpasswdUsers& users,
                         std::string* error);

struct BasicCredentials {
  std::string user;
  std::string password;
};
// "Basic base64(user:password)" (scheme case-insensitive) as Go's Request.BasicAuth reads it.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view value);

}  // namespace portier::proxy
