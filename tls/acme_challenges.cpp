#include "tls/acme_challenges.hpp"

namespace portier::tls {
namespace {

std::string http_key(std::string_view token, std::string_view domain) {
  std::string key(token);
  key += '\n';
  key += domain;
  return key;
}

}  // namespace

void AcmeChallenges::set_http(const std::string& token, const std::string& domain, std::string key_authorization) {
  std::lock_guard lock(mutex_);
  http_[http_key(token, domain)] = std::move(key_authorization);
}

void AcmeChallenges::remove_http(const std::string& token, const std::string& domain) {
  std::lock_guard lock(mutex_);
  http_.erase(http_key(token, domain));
}

void AcmeChallenges::set_tls_alpn(const std::string& domain, CertEntryPtr cert) {
  std::lock_guard lock(mutex_);
  tls_alpn_[domain] = std::move(cert);
  tls_alpn_count_.store(tls_alpn_.size(), std::memory_order_relaxed);
}

void AcmeChallenges::remove_tls_alpn(const std::string& domain) {
  std::lock_guard lock(mutex_);
  tls_alpn_.erase(domain);
  tls_alpn_count_.store(tls_alpn_.size(), std::memory_order_relaxed);
}

std::optional<std::string> AcmeChallenges::http_answer(std::string_view token, std::string_view domain) const {
  if (token.empty() || token.find('\n') != std::string_view::npos) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = http_.find(http_key(token, domain));
  if (it == http_.end()) return std::nullopt;
  return it->second;
}

CertEntryPtr AcmeChallenges::tls_alpn_cert(std::string_view sni) const {
  std::lock_guard lock(mutex_);
  auto it = tls_alpn_.find(sni);
  return it == tls_alpn_.end() ? nullptr : it->second;
}

}  // namespace portier::tls
