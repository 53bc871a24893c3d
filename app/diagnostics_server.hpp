#pragma once
// The diagnostics endpoints' HTTP server (GET only, one request per connection), on the
// control thread's io_context. Handlers run on the control thread.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/task_group.hpp"
#include "proxy/asio.hpp"

namespace portier::app {

namespace asio = boost::asio;

struct DiagResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class DiagnosticsServer {
 public:
  using Handler = std::function<DiagResponse()>;

  explicit DiagnosticsServer(asio::io_context& io) : io_(io), acceptor_(io), tasks_(io.get_executor(), "diagnostics") {}
  void route(std::string path, Handler handler) { handlers_[std::move(path)] = std::move(handler); }
  // Binds "host:port"; returns an error message or "".
  std::string listen(const std::string& address);
  void stop();  // closes the listener and cancels every connection; idle() once unwound
  bool idle() const { return tasks_.empty(); }

 private:
  proxy::awaitable<void> accept_loop();
  proxy::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<std::string, Handler> handlers_;
  core::TaskGroup tasks_;  // last member: cancelled first on destruction
};

}  // namespace portier::app
