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

namespace {
// The pool's threads yield the CPU to the workers' event loops (Linux: a thread's own nice).
void lower_priority_once() {
  static thread_local bool niced = (setpriority(PRIO_PROCESS, 0, 10), true);
  (void)niced;
}
}  // namespace

// Checks on the pool, then posts the result to the handler's executor (the worker), holding
// work on it meanwhile (a draining worker waits for the check). running_ counts the jobs that
// may still touch a worker's io_context; quiesce() waits for them.
template <class Token>
auto PasswordVerifier::async_check(std::string password, std::string hash, Token&& token) {
  auto initiate = [this](auto handler, std::string password, std::string hash) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    {
      std::lock_guard lock(mu_);
      ++running_;
    }
    asio::post(pool_, [this, handler = std::move(handler), work = std::move(work),
                       password = std::move(password), hash = std::move(hash)]() mutable {
      lower_priority_once();
      bool ok = !stopping_.load() && password_matches(password, hash);
      OPENSSL_cleanse(password.data(), password.size());
      auto ex = work.get_executor();
      asio::post(ex, [handler = std::move(handler), ok]() mutable { std::move(handler)(ok); });
      work.reset();
      std::lock_guard lock(mu_);
      if (--running_ == 0) idle_.notify_all();
    });
  };
  return asio::async_initiate<Token, void(bool)>(initiate, token, std::move(password), std::move(hash));
}

awaitable<bool> PasswordVerifier::verify(const std::string& user, const std::string& password,
                                         const std::string& hash) {
  Key key = key_of(user, password, hash);
  if (remembered(key)) co_return true;
  bool ok = co_await async_check(password, hash, asio::use_awaitable);
  if (ok) remember(key);
  co_return ok;
}

// Checks still queued answer "no match" at once; the ones in progress are waited for.
void PasswordVerifier::quiesce() {
  stopping_ = true;
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
  stopping_ = false;
}

void PasswordVerifier::post(std::function<void()> job) { asio::post(pool_, std::move(job)); }

}  // namespace portier::proxy
