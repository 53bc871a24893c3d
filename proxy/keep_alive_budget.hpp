#pragma once
// transport.keepAliveMaxRequests / keepAliveMaxTime for one client connection, as Traefik's
// keepAliveMiddleware counts them (pkg/server/keep_alive_middleware.go). Owned by the
// connection, used on its worker only.
#include <chrono>

#include "config/static_config.hpp"

namespace portier::proxy {

class KeepAliveBudget {
 public:
  // Counts a request (HTTP/1.1) or stream (HTTP/2). True when its response must end the
  // connection: it is the N-th, or it started past keepAliveMaxTime from the accept.
  bool last_request(const config::EntryPoint& ep) {
    ++requests_;
    if (ep.keep_alive_max_requests > 0 && requests_ >= ep.keep_alive_max_requests) return true;
    return ep.keep_alive_max_time.count() > 0 &&
           std::chrono::steady_clock::now() - start_ > ep.keep_alive_max_time;
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int requests_ = 0;
};

}  // namespace portier::proxy
