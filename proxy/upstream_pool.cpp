#include "proxy/upstream_pool.hpp"

namespace portier::proxy {

std::unique_ptr<UpstreamConn> UpstreamPool::take(const std::string& key, bool replayable) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    auto idle_timeout = conn->transport().idle_conn_timeout;
    auto idle = now - conn->idle_since;
    bool fresh = idle_timeout.count() <= 0 || idle < idle_timeout;
    bool trusted = replayable && idle < kTrustIdle && !conn->h2c();
    if (fresh && (trusted || conn->usable_when_idle())) {
      conn->reused = true;
      return conn;
    }
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> conn) {
  auto& list = idle_[conn->key];
  size_t max = conn->transport().max_idle_per_host ? conn->transport().max_idle_per_host : max_idle_per_key;
  if (list.size() >= max) return;
  conn->idle_since = std::chrono::steady_clock::now();
  conn->release_buffers();
  list.push_back(std::move(conn));
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

}  // namespace portier::proxy
