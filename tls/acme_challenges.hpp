#pragma once
// AcmeChallenges: the answers to the ACME challenges in flight, shared by every thread. The
// ACME manager (control thread) sets an answer before it tells the CA to validate and removes
// it afterwards; workers read it:
//   HTTP-01 (RFC 8555 §8.3): token + domain -> key authorization, served by the request
//     pipeline under /.well-known/acme-challenge/ on the httpChallenge entrypoint.
//   TLS-ALPN-01 (RFC 8737): domain -> the self-signed certificate carrying the acmeIdentifier
//     extension, served by the ClientHello callback to a client that offers only acme-tls/1.
// Reads take a mutex: they happen only for challenge requests (a path under the prefix, or an
// acme-tls/1-only ClientHello), never on the ordinary data path; has_tls_alpn() is lock-free
// so the ClientHello callback pays nothing while no TLS-ALPN-01 challenge is pending.
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tls/cert_store.hpp"

namespace portier::tls {

inline constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";
inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

class AcmeChallenges {
 public:
  // Control thread. `domain` is the identifier ("app.example.com"), lowercase.
  void set_http(const std::string& token, const std::string& domain, std::string key_authorization);
  void remove_http(const std::string& token, const std::string& domain);
  void set_tls_alpn(const std::string& domain, CertEntryPtr cert);
  void remove_tls_alpn(const std::string& domain);

  // Any thread. The key authorization for `token` requested with Host `domain` (normalized,
  // without port), as Traefik's ChallengeHTTP keys it; nullopt when unknown.
  std::optional<std::string> http_answer(std::string_view token, std::string_view domain) const;
  // Any thread. The challenge certificate for `sni` (normalized); null when none.
  CertEntryPtr tls_alpn_cert(std::string_view sni) const;
  bool has_tls_alpn() const { return tls_alpn_count_.load(std::memory_order_relaxed) > 0; }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> http_;  // "token\ndomain" -> key authorization
  std::map<std::string, CertEntryPtr, std::less<>> tls_alpn_;
  std::atomic<size_t> tls_alpn_count_{0};
};

}  // namespace portier::tls
