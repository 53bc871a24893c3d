#include "tls/tls_policy.hpp"

#include <openssl/ssl.h>

#include <utility>

#include "core/log.hpp"

namespace portier::tls {

namespace {

struct CipherName {
  std::string_view go;
  std::string_view openssl;
};

constexpr CipherName kCiphers[] = {
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
};

struct GroupName {
  std::string_view go;
  std::string_view openssl;
};

constexpr GroupName kGroups[] = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"},
    {"secp256r1", "P-256"}, {"secp384r1", "P-384"}, {"secp521r1", "P-521"},
};

int parse_version(std::string_view text, bool is_min, const std::string& path, core::Problems& problems) {
  if (text.empty()) return is_min ? TLS1_2_VERSION : 0;
  if (text == "VersionTLS13") return TLS1_3_VERSION;
  if (text == "VersionTLS12") return TLS1_2_VERSION;
  if (text == "VersionTLS10" || text == "VersionTLS11") {
    if (!is_min) {
      problems.push_back({path, "maxVersion below TLS 1.2 is not supported"});
      return 0;
    }
    core::log_warn(path, ": ", text, " raised to VersionTLS12 (portier never offers older TLS)");
    return TLS1_2_VERSION;
  }
  problems.push_back({path, "unknown TLS version \"" + std::string(text) +
                                "\" (VersionTLS12 or VersionTLS13)"});
  return is_min ? TLS1_2_VERSION : 0;
}

std::string cipher_list(const config::TlsOptions& options, const std::string& path, core::Problems& problems) {
  std::string list;
  for (size_t i = 0; i < options.cipher_suites.size(); ++i) {
    std::string name;
    if (!map_cipher_suite(options.cipher_suites[i], name)) {
      problems.push_back({path + "[" + std::to_string(i) + "]",
                          "unsupported cipher suite \"" + options.cipher_suites[i] +
                              "\" (only ECDHE with AES-GCM or CHACHA20-POLY1305)"});
      continue;
    }
    if (!name.empty() && list.find(name) == std::string::npos) list += (list.empty() ? "" : ":") + name;
  }
  return list.empty() ? std::string(kDefaultCipherList) : list;
}

std::string group_list(const config::TlsOptions& options, const std::string& path, core::Problems& problems) {
  std::string list;
  for (size_t i = 0; i < options.curve_preferences.size(); ++i) {
    const auto& want = options.curve_preferences[i];
    const GroupName* found = nullptr;
    for (const auto& g : kGroups)
      if (g.go == want) found = &g;
    if (!found) {
      problems.push_back({path + "[" + std::to_string(i) + "]", "unknown curve \"" + want + "\""});
      continue;
    }
    list += (list.empty() ? "" : ":") + std::string(found->openssl);
  }
  return list;
}

}  // namespace

bool map_cipher_suite(std::string_view go_name, std::string& openssl_name) {
  for (const auto& c : kCiphers) {
    if (c.go == go_name) {
      openssl_name = c.openssl;
      return true;
    }
  }
  return false;
}

std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

TlsPolicyPtr make_policy(const std::string& name, const config::TlsOptions& options,
                         const std::vector<std::string>& default_alpn, core::Problems& problems) {
  auto policy = std::make_shared<TlsPolicy>();
  std::string base = "tls.options." + name + ".";
  policy->name = name;
  policy->min_version = parse_version(options.min_version, true, base + "minVersion", problems);
  policy->max_version = parse_version(options.max_version, false, base + "maxVersion", problems);
  if (policy->max_version != 0 && policy->max_version < policy->min_version) {
    problems.push_back({base + "maxVersion", "lower than minVersion"});
    policy->max_version = 0;
  }
  policy->cipher_list = cipher_list(options, base + "cipherSuites", problems);
  policy->groups = group_list(options, base + "curvePreferences", problems);
  policy->alpn = options.alpn_protocols.empty() ? default_alpn : options.alpn_protocols;
  policy->alpn_wire = alpn_wire(policy->alpn);
  policy->sni_strict = options.sni_strict;
  policy->client_auth = make_client_auth(name, options, problems);
  return policy;
}

}  // namespace portier::tls
