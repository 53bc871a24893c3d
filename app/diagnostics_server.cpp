#include "app/diagnostics_server.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "core/log.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/io_buffer.hpp"

namespace portier::app {

using proxy::use_tuple;

std::string DiagnosticsServer::listen(const std::string& address, core::InheritedSockets* inherited) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "diagnostics address \"" + address + "\" needs host:port";
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host.empty() ? "127.0.0.1" : host, ec);
  if (ec) return "diagnostics address \"" + address + "\": invalid host";
  int port = std::atoi(address.c_str() + colon + 1);
  asio::ip::tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  auto passed = inherited ? inherited->take(true, addr, ep.port()) : std::vector<const core::InheritedSocket*>{};
  if (!passed.empty()) {
    int fd = ::fcntl(passed.front()->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return "diagnostics " + address + ": cannot use the inherited socket: " + std::strerror(errno);
    acceptor_.assign(passed.front()->address.is_v6() ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd);
    tasks_.spawn(accept_loop(), "accept");
    return {};
  }
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) return "diagnostics " + address + ": " + ec.message();
  tasks_.spawn(accept_loop(), "accept");
  return {};
}

void DiagnosticsServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  tasks_.cancel();
}

proxy::awaitable<void> DiagnosticsServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    tasks_.spawn(serve(std::move(socket)), "request");
  }
}

proxy::awaitable<void> DiagnosticsServer::serve(asio::ip::tcp::socket socket) {
  asio::steady_timer deadline(io_);
  deadline.expires_after(std::chrono::seconds(10));
  auto close_late = [&socket](boost::system::error_code ec) {
    if (!ec) socket.close(ec);
  };
  deadline.async_wait(close_late);
  proxy::IoBuffer buf;
  proxy::RequestHead head;
  std::string out;
  DiagResponse resp;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(buf.prepare(4096, 65536), use_tuple);
    if (ec) co_return;
    buf.commit(n);
    auto r = proxy::parse_request_head(buf.readable(), proxy::HttpLimits{}, head);
    if (r.status == proxy::ParseStatus::need_more) continue;
    if (r.status == proxy::ParseStatus::error) {
      out = proxy::error_response(r.http_status, true);
      break;
    }
    boost::system::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (head.method == "POST" && (peer_ec || !peer.address().is_loopback())) {
      resp = DiagResponse{403, "text/plain", "actions are accepted from loopback clients only\n"};
    } else {
      if (head.method == "POST") {  // an action: its own deadline
        deadline.expires_after(kPostTimeout);
        deadline.async_wait(close_late);
      }
      resp = co_await respond(head);
    }
    out = proxy::status_line(resp.status);
    for (const auto& [name, value] : resp.headers) out += name + ": " + value + "\r\n";
    out += "Content-Type: " + resp.content_type + "\r\nContent-Length: " + std::to_string(resp.body.size()) +
           "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
    if (head.method != "HEAD") out += resp.body;
    break;
  }
  co_await asio::async_write(socket, asio::buffer(out), use_tuple);
  boost::system::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  deadline.cancel();
  if (resp.after_sent) resp.after_sent();
}

proxy::awaitable<DiagResponse> DiagnosticsServer::respond(const proxy::RequestHead& head) {
  const std::string path(head.path);
  for (const auto& [prefix, handler] : prefix_handlers_)
    if (path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/')) co_return handler(head);
  if (head.method == "POST") {
    auto it = post_handlers_.find(path);
    if (it != post_handlers_.end()) co_return co_await it->second();
    co_return DiagResponse{handlers_.count(path) ? 405 : 404, "text/plain",
                           handlers_.count(path) ? "method not allowed\n" : "404 page not found\n"};
  }
  if (head.method != "GET" && head.method != "HEAD")
    co_return DiagResponse{405, "text/plain", "method not allowed\n"};
  auto it = handlers_.find(path);
  if (it == handlers_.end())
    co_return DiagResponse{post_handlers_.count(path) ? 405 : 404, "text/plain",
                           post_handlers_.count(path) ? "method not allowed\n" : "404 page not found\n"};
  co_return it->second();
}

}  // namespace portier::app
