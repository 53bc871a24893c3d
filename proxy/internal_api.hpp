#pragma once
// api@internal's answers (Traefik's JSON API under /api and the dashboard under /dashboard/).
// The application builds them (app/traefik_api.*) from state the proxy cannot see and publishes
// a handler here; workers call it for requests routed to api@internal or, with `api.insecure`,
// for /api and /dashboard on the `traefik` entrypoint.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::proxy {

struct ApiReply {
  int status = 404;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// Called on any worker thread: it must only read immutable state (its captured snapshot).
using InternalApi =
    std::function<ApiReply(std::string_view method, std::string_view path, std::string_view query)>;

// The handler last published; answers 503 until one is. Its lock is taken once per
// api@internal request only, never on the routing path of other requests.
class InternalApiSlot {
 public:
  void publish(std::shared_ptr<const InternalApi> api) {
    std::lock_guard lock(mutex_);
    api_ = std::move(api);
  }
  ApiReply answer(std::string_view method, std::string_view path, std::string_view query) const {
    std::shared_ptr<const InternalApi> api;
    {
      std::lock_guard lock(mutex_);
      api = api_;
    }
    if (!api) return ApiReply{503, "text/plain; charset=utf-8", "the API is not ready yet\n", {}};
    return (*api)(method, path, query);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const InternalApi> api_;
};

}  // namespace portier::proxy
