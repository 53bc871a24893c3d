#pragma once
// Traefik's acme.json (v2/v3 layout), so an existing file is reused as is and tools that read
// it keep working:
//   { "<resolver>": { "Account": { "Email", "Registration": { "body": {…}, "uri" },
//                                  "PrivateKey": base64(DER), "KeyType": "4096"|"EC256"|… },
//                     "Certificates": [ { "domain": { "main", "sans": […] },
//                                         "certificate": base64(PEM chain),
//                                         "key": base64(PEM key), "Store": "default" } ] } }
// Control thread only (file I/O).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace portier::tls {

struct AcmeAccount {
  std::string email;
  std::string registration_uri;   // "" = not registered
  std::string registration_body;  // Registration.body as compact JSON text ("" = none)
  std::string private_key_der;    // decoded "PrivateKey": PKCS#1 (Traefik), SEC1 or PKCS#8
  std::string key_type;           // certificate key type, Traefik/lego names: "EC256", "4096", …
  bool operator==(const AcmeAccount&) const = default;
};

struct AcmeCertificate {
  std::string main;                // domain.main, may be "*.example.com"
  std::vector<std::string> sans;   // domain.sans
  std::string certificate_pem;     // decoded "certificate": leaf first, then the chain
  std::string key_pem;             // decoded "key"
  std::string store = "default";   // "Store"
  bool operator==(const AcmeCertificate&) const = default;
};

struct AcmeResolverData {
  std::optional<AcmeAccount> account;  // "Account": null when absent
  std::vector<AcmeCertificate> certificates;
  bool operator==(const AcmeResolverData&) const = default;
};

using AcmeStore = std::map<std::string, AcmeResolverData>;

struct AcmeJsonResult {
  AcmeStore store;
  // Entries that were skipped (bad base64, missing fields), each with its path such as
  // "acme.json: le.Certificates[2].certificate".
  core::Problems problems;
  // False when the file as a whole is unusable (unreadable, too open, not JSON, wrong shape):
  // the caller must then not overwrite it.
  bool ok = false;
};

// Parses acme.json text. Empty or whitespace-only text is an empty store.
AcmeJsonResult parse_acme_json(std::string_view text);

// Traefik-style pretty JSON (two-space indent, Go field order).
std::string acme_json_text(const AcmeStore& store);

// "" when `path` is missing or no wider than 0600; otherwise the error to show.
std::string check_acme_json_mode(const std::string& path);

// Missing file = ok and empty. Checks the mode first.
AcmeJsonResult read_acme_json_file(const std::string& path);

// Atomic replace with mode 0600. Returns "" on success, else the error.
std::string write_acme_json_file(const std::string& path, const AcmeStore& store);

}  // namespace portier::tls
