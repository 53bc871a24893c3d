#pragma once
// TlsPolicy: one Traefik `tls.options` entry translated to OpenSSL terms. Built and validated
// on the control thread; immutable afterwards and read by handshakes on any thread.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.hpp"
#include "core/error.hpp"
#include "tls/client_auth.hpp"

namespace portier::tls {

struct TlsPolicy {
  std::string name;                  // the tls.options key, "default" for the default
  int min_version = 0;               // TLS1_2_VERSION or TLS1_3_VERSION
  int max_version = 0;               // 0 = the highest supported
  std::string cipher_list;           // TLS 1.2 suites, OpenSSL syntax
  std::string groups;                // "" = OpenSSL's default groups
  std::vector<std::string> alpn;     // server preference order
  std::string alpn_wire;             // `alpn` in ALPN wire format
  bool sni_strict = false;
  ClientAuth client_auth;            // clientAuth: applied per handshake in the ClientHello callback
};
using TlsPolicyPtr = std::shared_ptr<const TlsPolicy>;

// ECDHE + AEAD only, server preference order.
inline constexpr std::string_view kDefaultCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Go/Traefik cipher suite name -> OpenSSL name. "" for TLS 1.3 suites (not configurable, as
// in Traefik). Returns false for names unknown or outside ECDHE + AEAD.
bool map_cipher_suite(std::string_view go_name, std::string& openssl_name);

// Translates `options`. Problems (path "tls.options.<name>.<field>") are appended; the field
// in error falls back to its default so the policy is always usable. `default_alpn` applies
// when options.alpn_protocols is empty.
TlsPolicyPtr make_policy(const std::string& name, const config::TlsOptions& options,
                         const std::vector<std::string>& default_alpn, core::Problems& problems);

// ALPN wire format ("\x02h2\x08http/1.1"); names longer than 255 bytes are skipped.
std::string alpn_wire(const std::vector<std::string>& protocols);

}  // namespace portier::tls
