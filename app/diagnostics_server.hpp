#pragma once
// The diagnostics endpoints' HTTP server (GET, and POST for actions such as /upgrade, from
// loopback clients only; one request per connection, no request body), on the control
// thread's io_context. Handlers run on the control thread.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/listen_fds.hpp"
#include "core/task_group.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/asio.hpp"

namespace portier::app {

namespace asio = boost::asio;

struct DiagResponse {
  DiagResponse() = default;
  DiagResponse(int status, std::string content_type, std::string body)
      : status(status), content_type(std::move(content_type)), body(std::move(body)) {}
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::function<void()> after_sent;  // runs once the response is written (or failed to be)
};

class DiagnosticsServer {
 public:
  using Handler = std::function<DiagResponse()>;
  using PostHandler = std::function<proxy::awaitable<DiagResponse>()>;
  // Answers every method for `prefix` and the paths below it ("/api": "/api", "/api/...").
  using PrefixHandler = std::function<DiagResponse(const proxy::RequestHead&)>;

  explicit DiagnosticsServer(asio::io_context& io) : io_(io), acceptor_(io), tasks_(io.get_executor(), "diagnostics") {}
  void route(std::string path, Handler handler) { handlers_[std::move(path)] = std::move(handler); }
  void route_prefix(std::string prefix, PrefixHandler handler) {
    prefix_handlers_.emplace_back(std::move(prefix), std::move(handler));
  }
  // A POST action; it may take up to kPostTimeout.
  void route_post(std::string path, PostHandler handler) { post_handlers_[std::move(path)] = std::move(handler); }
  static constexpr std::chrono::seconds kPostTimeout{60};
  // Listens on "host:port": the inherited socket bound there (a live upgrade passes it), else
  // one bound here. Returns an error message or "".
  std::string listen(const std::string& address, core::InheritedSockets* inherited);
  int native_handle() { return acceptor_.native_handle(); }
  void stop();  // closes the listener and cancels every connection; idle() once unwound
  bool idle() const { return tasks_.empty(); }

 private:
  proxy::awaitable<void> accept_loop();
  proxy::awaitable<void> serve(asio::ip::tcp::socket socket);
  proxy::awaitable<DiagResponse> respond(const proxy::RequestHead& head);

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, PostHandler> post_handlers_;
  std::vector<std::pair<std::string, PrefixHandler>> prefix_handlers_;
  core::TaskGroup tasks_;  // last member: cancelled first on destruction
};

}  // namespace portier::app
