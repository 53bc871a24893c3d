#pragma once
// Password checks off the event loop, for basicAuth: a process-wide pool of two threads (at nice
// 10, so the workers win the CPU) runs password_matches() (bcrypt costs tens of ms) and the
// request resumes on its worker, whose other connections keep running meanwhile. Recent successes are remembered in a bounded LRU
// (4096 entries) keyed by HMAC-SHA256(random per-process key, user, password, hash): no password
// is kept in clear, and a changed hash or password misses.
#include <array>
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>

#include "proxy/asio.hpp"

namespace portier::proxy {

// Whether `password` matches `hash` as htpasswd writes them: $apr1$ (MD5), {SHA}, bcrypt
// $2y$/$2b$/$2a$, and crypt(3) formats, by APR-util's apr_password_validate (no hand-written
// crypto). Slow by design for bcrypt (tens of ms): never on a worker. Thread-safe.
bool password_matches(const std::string& password, const std::string& hash);

class PasswordVerifier {
 public:
  static PasswordVerifier& instance();

  // True when `password` matches `hash` (a cache hit answers without the pool). Awaited on a
  // worker; resumes on the awaiting coroutine's executor.
  awaitable<bool> verify(const std::string& user, const std::string& password,
                         const std::string& hash);
  // Runs `job` on the pool (blocking work such as re-reading a users file).
  void post(std::function<void()> job);
  // Returns once no check can still post to a worker: call after the workers stopped and before
  // their io_contexts are destroyed (ProxyServer::stop). Queued checks are answered "no match"
  // without running; the (at most two) running ones are waited for.
  void quiesce();

  // The cache alone (tests, and the synchronous fast path).
  bool cached(const std::string& user, const std::string& password, const std::string& hash);

 private:
  PasswordVerifier();
  using Key = std::array<unsigned char, 32>;
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  Key key_of(const std::string& user, const std::string& password, const std::string& hash) const;
  bool remembered(const Key& key);
  template <class Token>
  auto async_check(std::string password, std::string hash, Token&& token);
  void remember(const Key& key);

  asio::thread_pool pool_{2};
  std::array<unsigned char, 32> secret_{};
  std::mutex mu_;  // the cache and running_
  std::condition_variable idle_;
  int running_ = 0;
  std::atomic<bool> stopping_{false};  // quiesce(): queued checks fail fast
  std::list<Key> lru_;  // most recent first
  std::unordered_map<Key, std::list<Key>::iterator, KeyHash> index_;
  static constexpr size_t kCapacity = 4096;
};

}  // namespace portier::proxy
