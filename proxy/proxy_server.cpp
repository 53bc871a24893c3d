#include "proxy/proxy_server.hpp"

#include <sys/socket.h>

#include <boost/asio/ip/v6_only.hpp>

#include "core/log.hpp"

namespace portier::proxy {
namespace {

bool bind_reuseport(tcp::acceptor& acceptor, const tcp::endpoint& ep, std::string* error) {
  error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec = error_code(errno, boost::system::system_category());
  }
  if (!ec && ep.address().is_v6() && ep.address().is_unspecified())
    acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(4096, ec);
  if (ec) {
    *error = ep.address().to_string() + ":" + std::to_string(ep.port()) + ": " + ec.message();
    error_code ignored;
    acceptor.close(ignored);
    return false;
  }
  return true;
}

}  // namespace

ProxyServer::ProxyServer(const config::StaticConfig& cfg, int workers, ProxyLimits limits)
    : cfg_(cfg), limits_(limits) {
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(i, snapshot_, limits_));
}

ProxyServer::~ProxyServer() { stop(); }

std::vector<std::string> ProxyServer::open_listeners() {
  std::vector<std::string> problems;
  auto names = http_entry_point_names(cfg_);
  for (size_t index = 0; index < names.size(); ++index) {
    const auto& ep = cfg_.entry_points.at(names[index]);
    auto info = std::make_shared<ListenerInfo>();
    info->entry_index = index;
    info->entry_point = ep;
    info->tls = false;
    if (ep.redirection) {
      auto target = cfg_.entry_points.find(ep.redirection->to);
      if (target != cfg_.entry_points.end()) info->redirect_target = target->second;
    }
    std::vector<std::string> hosts = ep.hosts.empty() ? std::vector<std::string>{""} : ep.hosts;
    for (const auto& host : hosts) {
      error_code ec;
      auto addr = host.empty() ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::make_address(host, ec);
      if (ec) {
        problems.push_back("entrypoint " + ep.name + ": invalid address \"" + host + "\"");
        continue;
      }
      for (auto& w : workers_) {
        tcp::acceptor acceptor(w->io());
        std::string error;
        if (!bind_reuseport(acceptor, {addr, ep.port}, &error) && host.empty()) {
          // No IPv6 on this machine: fall back to every IPv4 address.
          acceptor = tcp::acceptor(w->io());
          bind_reuseport(acceptor, {asio::ip::address_v4::any(), ep.port}, &error);
        }
        if (!acceptor.is_open()) {
          problems.push_back("entrypoint " + ep.name + ": cannot listen on " + error);
          break;
        }
        w->add_listener(std::move(acceptor), info);
      }
    }
  }
  return problems;
}

void ProxyServer::start() {
  for (auto& w : workers_) w->start();
}

void ProxyServer::publish(std::shared_ptr<RuntimeConfig> rc) {
  rc->generation = ++generation_;
  snapshot_.publish(std::move(rc));
}

void ProxyServer::begin_drain() {
  for (auto& w : workers_) w->begin_drain();
}

int ProxyServer::active_connections() const {
  int n = 0;
  for (const auto& w : workers_) n += w->active_connections();
  return n;
}

void ProxyServer::stop() {
  for (auto& w : workers_) w->stop();
}

}  // namespace portier::proxy
