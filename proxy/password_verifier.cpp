#include "proxy/password_verifier.hpp"

#include <apr_md5.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/resource.h>

#include <cstring>

namespace portier::proxy {

bool password_matches(const std::string& password, const std::string& hash) {
  return apr_password_validate(password.c_str(), hash.c_str()) == APR_SUCCESS;
}

PasswordVerifier& PasswordVerifier::instance() {
  static PasswordVerifier verifier;
  return verifier;
}

PasswordVerifier::PasswordVerifier() {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) std::abort();
}

size_t PasswordVerifier::KeyHash::operator()(const Key& k) const {
  size_t h;
  std::memcpy(&h, k.data(), sizeof h);
  return h;
}

PasswordVerifier::Key PasswordVerifier::key_of(const std::string& user, const std::string& password,
                                               const std::string& hash) const {
  std::string message;
  message.reserve(user.size() + password.size() + hash.size() + 2);
  message.append(user).push_back('\0');
  message.append(password).push_back('\0');
  message.append(hash);
  Key key{};
  unsigned len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.data(), &len);
  OPENSSL_cleanse(message.data(), message.size());
  return key;
}

bool PasswordVerifier::remembered(const Key& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void PasswordVerifier::remember(const Key& key) {
  std::lock_guard lock(mu_);
  if (index_.count(key)) return;
  if (lru_.size() >= kCapacity) {
    index_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  index_.emplace(key, lru_.begin());
}

bool PasswordVerifier::cached(const std::string& user, const std::string& password,
                              const std::string& hash) {
  return remembered(key_of(user, password, hash));
}

awaitable<bool> PasswordVerifier::verify(const std::string& user, const std::string& password,
                                         const std::string& hash) {
  Key key = key_of(user, password, hash);
  if (remembered(key)) co_return true;
  auto check = [password, hash]() -> awaitable<bool> {
    // The pool's threads yield the CPU to the workers' event loops (Linux: a thread's own nice).
    static thread_local bool niced = (setpriority(PRIO_PROCESS, 0, 10), true);
    (void)niced;
    co_return password_matches(password, hash);
  };
  bool ok = co_await asio::co_spawn(pool_.get_executor(), std::move(check), asio::use_awaitable);
  if (ok) remember(key);
  co_return ok;
}

void PasswordVerifier::post(std::function<void()> job) { asio::post(pool_, std::move(job)); }

}  // namespace portier::proxy
