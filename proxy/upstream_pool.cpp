#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

namespace portier::proxy {
namespace {
// A pooled connection is usable when nothing is readable (EAGAIN): EOF or stray bytes mean
// the server closed it or broke framing (for TLS: a close_notify or an alert).
bool still_open(tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

std::unique_ptr<UpstreamConn> UpstreamPool::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    auto idle_timeout = conn->transport().idle_conn_timeout;
    bool fresh = idle_timeout.count() <= 0 || now - conn->idle_since < idle_timeout;
    if (fresh && still_open(conn->socket())) {
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
  conn->buf.release_if_empty();
  list.push_back(std::move(conn));
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

}  // namespace portier::proxy
