#pragma once
// Per-worker pool of idle keep-alive connections to upstream servers. Worker thread only.
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/upstream_conn.hpp"

namespace portier::proxy {

class UpstreamPool {
 public:
  // An idle connection for `key` that the peer has not closed, or nullptr. Checking for a
  // close costs a syscall; for a `replayable` request (the caller retries it on a fresh
  // connection when a reused one fails before answering) a connection idle for less than
  // kTrustIdle is taken unchecked: servers close idle connections after seconds, not
  // milliseconds, so under load the check would almost always find the connection open.
  std::unique_ptr<UpstreamConn> take(const std::string& key, bool replayable);
  static constexpr std::chrono::milliseconds kTrustIdle{1000};
  // Keeps a connection whose last response was complete and that the peer keeps open.
  void put(std::unique_ptr<UpstreamConn> conn);
  void clear() { idle_.clear(); }
  size_t idle_count() const;

  // Per key unless the connection's serversTransport sets maxIdleConnsPerHost; the idle
  // timeout is the transport's idleConnTimeout (0 = none).
  size_t max_idle_per_key = 1024;

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<UpstreamConn>>> idle_;
};

}  // namespace portier::proxy
