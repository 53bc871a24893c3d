#include "proxy/proxy_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/ip/v6_only.hpp>

#include <optional>

#include "core/listen_fds.hpp"
#include "core/log.hpp"
#include "proxy/http3_listener.hpp"
#include "proxy/password_verifier.hpp"
#include "proxy/quic_steering.hpp"
#include "proxy/tls_terminator.hpp"

namespace portier::proxy {
namespace {

// HTTP/3 sockets per address: one per worker, steered by connection ID (true), or one served
// by one worker (false). Both are kept so that they can be measured against each other
// (bench/RESULTS.md, "HTTP/3 sockets"); not a configuration key.
constexpr bool kHttp3SocketPerWorker = true;

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

// Addresses an entrypoint binds: its hosts, or every address ("::", dual-stack) when none.
std::vector<asio::ip::address> entry_addresses(const config::EntryPoint& ep, std::vector<std::string>& problems) {
  std::vector<asio::ip::address> out;
  if (ep.hosts.empty()) out.push_back(asio::ip::address_v6::any());
  for (const auto& host : ep.hosts) {
    error_code ec;
    auto addr = host.empty() ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::make_address(host, ec);
    if (ec) problems.push_back("entrypoint " + ep.name + ": invalid address \"" + host + "\"");
    else out.push_back(addr);
  }
  return out;
}

// A descriptor of its own for a worker serving an inherited socket (every worker accepts on
// the one socket systemd holds: connections queued there survive a restart, which sockets
// bound here with SO_REUSEPORT would not).
int dup_inherited(const core::InheritedSocket& s, const std::string& entry_point,
                  std::vector<std::string>& problems) {
  int fd = ::fcntl(s.fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0)
    problems.push_back("entrypoint " + entry_point + ": cannot use inherited socket " + s.describe() + ": " +
                       std::strerror(errno));
  return fd;
}

tcp::endpoint::protocol_type protocol_of(const asio::ip::address& a) {
  return a.is_v6() ? tcp::v6() : tcp::v4();
}

}  // namespace

// The listening acceptors of worker `index` for `ep` on `addr`. With inherited sockets there:
// socket j goes to worker j % workers, and a worker left without one shares socket
// index % count, so each socket is served and each worker accepts (systemd passes one socket,
// a live upgrade one per worker of the previous process). Else one socket bound here with
// SO_REUSEPORT (the IPv4 wildcard when IPv6 is unavailable). Empty after a problem.
std::vector<tcp::acceptor> ProxyServer::acceptors_for(size_t index, const config::EntryPoint& ep,
                                                      const asio::ip::address& addr,
                                                      std::vector<std::string>& problems) {
  asio::io_context& io = workers_[index]->io();
  std::vector<tcp::acceptor> out;
  auto inherited = inherited_ ? inherited_->take(true, addr, ep.port) : std::vector<const core::InheritedSocket*>{};
  if (!inherited.empty()) {
    for (size_t j = 0; j < inherited.size(); ++j) {
      const bool mine = j % workers_.size() == index || (index >= inherited.size() && j == index % inherited.size());
      if (!mine) continue;
      int fd = dup_inherited(*inherited[j], ep.name, problems);
      if (fd < 0) return {};
      out.emplace_back(io).assign(protocol_of(inherited[j]->address), fd);
    }
    return out;
  }
  tcp::acceptor acceptor(io);
  std::string error;
  if (bind_reuseport(acceptor, {addr, ep.port}, &error)) {
    out.push_back(std::move(acceptor));
    return out;
  }
  if (addr.is_v6() && addr.is_unspecified()) {
    tcp::acceptor v4(io);
    if (bind_reuseport(v4, {asio::ip::address_v4::any(), ep.port}, &error)) {
      out.push_back(std::move(v4));
      return out;
    }
  }
  problems.push_back("entrypoint " + ep.name + ": cannot listen on " + error);
  return {};
}

ProxyServer::ProxyServer(const config::StaticConfig& cfg, int workers, ProxyLimits limits,
                         core::InheritedSockets* inherited)
    : cfg_(cfg), limits_(limits), inherited_(inherited),
      observability_(std::make_unique<Observability>(cfg, http_entry_point_names(cfg), static_cast<size_t>(workers))) {
  for (int i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<Worker>(i, snapshot_, tls_snapshot_, tcp_snapshot_, limits_,
                                                observability_->worker(static_cast<size_t>(i))));
}

ProxyServer::~ProxyServer() { stop(); }

std::vector<std::string> ProxyServer::open_listeners() {
  std::vector<std::string> problems;
  if (auto error = observability_->open_access_log(); !error.empty()) problems.push_back(error);
  auto names = http_entry_point_names(cfg_);
  for (size_t index = 0; index < names.size(); ++index) {
    const auto& ep = cfg_.entry_points.at(names[index]);
    auto info = std::make_shared<ListenerInfo>();
    info->entry_index = index;
    info->entry_point = ep;
    info->tls = false;
    info->serves_ping = cfg_.ping.enabled && !cfg_.ping.manual_routing && cfg_.ping.entry_point == ep.name;
    info->serves_metrics =
        cfg_.prometheus.enabled && !cfg_.prometheus.manual_routing && cfg_.prometheus.entry_point == ep.name;
    info->serves_api = cfg_.api.enabled && cfg_.api.insecure && ep.name == "traefik";
    for (const auto& [name, resolver] : cfg_.cert_resolvers)
      if (resolver.http_challenge && resolver.http_challenge->entry_point == ep.name) info->acme_http = acme_challenges_;
    if (ep.max_connections > 0)
      info->cap = std::make_shared<ConnectionCap>(ep.name, ep.max_connections);
    info->proxy_protocol = ProxyProtocolPolicy::make(ep);
    info->http = limits_.http;
    info->h2_header_list = limits_.http.max_header_bytes;
    if (ep.max_header_bytes) {
      // Go's server reads a head up to MaxHeaderBytes + 4096 (HTTP/1) and announces
      // MaxHeaderBytes + 10 * 32 as the HTTP/2 header list size; both answer 431 beyond.
      info->http.max_header_bytes = *ep.max_header_bytes + 4096;
      info->h2_header_list = *ep.max_header_bytes + 320;
    }
    if (ep.redirection) {
      auto target = cfg_.entry_points.find(ep.redirection->to);
      if (target != cfg_.entry_points.end()) info->redirect_target = target->second;
    }
    auto tls_info = std::make_shared<ListenerInfo>(*info);
    tls_info->tls = true;
    if (ep.http3) {  // quic-go's SetQUICHeaders, as Traefik sends it
      uint16_t port = ep.http3->advertised_port ? ep.http3->advertised_port : ep.port;
      tls_info->alt_svc = "h3=\":" + std::to_string(port) + "\"; ma=2592000";
      open_http3_listener(ep, tls_info, problems);
    }
    info->tls_side = tls_info;
    for (const auto& addr : entry_addresses(ep, problems)) {
      for (size_t i = 0; i < workers_.size(); ++i) {
        auto acceptors = acceptors_for(i, ep, addr, problems);
        if (acceptors.empty()) break;
        for (auto& a : acceptors) workers_[i]->add_listener(std::move(a), info);
      }
    }
  }
  open_tcp_listeners(problems);
  open_udp_forwarders(problems);
  return problems;
}

// tcp-{port} entrypoints: TCP routers only, one SO_REUSEPORT listener per worker.
void ProxyServer::open_tcp_listeners(std::vector<std::string>& problems) {
  for (const auto& [name, ep] : cfg_.entry_points) {
    if (ep.protocol != config::EntryPoint::Protocol::tcp || name.rfind("tcp-", 0) != 0) continue;
    auto proxy_protocol = ProxyProtocolPolicy::make(ep);
    for (const auto& addr : entry_addresses(ep, problems)) {
      for (size_t i = 0; i < workers_.size(); ++i) {
        auto acceptors = acceptors_for(i, ep, addr, problems);
        if (acceptors.empty()) break;
        Worker* w = workers_[i].get();
        TcpListenerOptions options;
        options.entry_point = name;
        options.proxy_protocol = proxy_protocol;
        options.session.peek.timeout = limits_.header_timeout;
        options.session.idle_timeout = ep.idle_timeout;
        options.session.terminate_tls = make_tls_terminator(tls_snapshot_, limits_.header_timeout);
        options.session.answer_acme_tls = !ep.allow_acme_bypass;
        for (auto& a : acceptors)
          w->add_tcp_listener(std::make_unique<TcpListener>(std::move(a), tcp_snapshot_, options,
                                                            static_cast<uint32_t>(w->id())));
      }
    }
  }
}

// entryPoints.NAME.http3: the UDP sockets of each address of the entrypoint, serving its TLS
// side. The listeners of every address share the entrypoint's connection count (its cap) and
// the process's secrets; those of one address share a reuseport group and its steering.
void ProxyServer::open_http3_listener(const config::EntryPoint& ep, std::shared_ptr<const ListenerInfo> tls_info,
                                      std::vector<std::string>& problems) {
  if (!cert_store_) {
    problems.push_back("entrypoint " + ep.name + ": http3 needs the certificate store");
    return;
  }
  auto h3_info = std::make_shared<ListenerInfo>(*tls_info);
  h3_info->alt_svc.clear();  // the h3 responses themselves do not advertise it (Traefik)
  Http3ListenerOptions options;
  if (ep.max_connections > 0) options.max_connections = static_cast<size_t>(ep.max_connections);
  options.retry_from = options.max_connections / 2;
  options.open_connections = std::make_shared<std::atomic<size_t>>(0);
  try {
    if (!quic_secrets_) quic_secrets_ = QuicSecrets::generate();
  } catch (const std::exception& e) {
    problems.push_back("entrypoint " + ep.name + ": http3: " + e.what());
    return;
  }
  options.secrets = quic_secrets_;
  for (const auto& addr : entry_addresses(ep, problems)) {
    auto sockets = http3_sockets_on(ep, addr, problems);
    if (sockets.empty()) continue;
    const auto count = static_cast<uint32_t>(sockets.size());
    if (count > 1) {
      auto error = attach_quic_steering(sockets.front().second.native_handle(), count);
      if (!error.empty()) {
        problems.push_back("entrypoint " + ep.name + ": http3: " + error);
        continue;
      }
    }
    Http3Socket entry{ep.name, {}, {}};
    try {
      for (uint32_t k = 0; k < count; ++k) {
        auto& [worker, socket] = sockets[k];
        options.steering = {k, count};
        auto listener = std::make_unique<Http3Listener>(*worker, std::move(socket), h3_info, *cert_store_, options);
        auto local = listener->local_endpoint();
        std::string host = local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string();
        entry.address = host + ":" + std::to_string(local.port());
        entry.listeners.push_back(listener.get());
        worker->add_http3_listener(std::move(listener));
      }
    } catch (const std::exception& e) {
      problems.push_back("entrypoint " + ep.name + ": http3: " + e.what());
    }
    if (!entry.listeners.empty()) http3_sockets_.push_back(std::move(entry));
  }
}

// The HTTP/3 sockets of `ep` on `addr`, each with the worker that serves it, in the order of
// their reuseport group (the steering's index). Inherited ones as passed (a live upgrade passes
// them in that order, listening_sockets()): socket k on worker k mod workers. Else bound here:
// one per worker with SO_REUSEPORT (at most kMaxSteeredSockets), or one on one worker. Empty
// after a problem.
std::vector<std::pair<Worker*, udp::socket>> ProxyServer::http3_sockets_on(const config::EntryPoint& ep,
                                                                            const asio::ip::address& addr,
                                                                            std::vector<std::string>& problems) {
  std::vector<std::pair<Worker*, udp::socket>> out;
  auto inherited = inherited_ ? inherited_->take(false, addr, ep.port) : std::vector<const core::InheritedSocket*>{};
  for (size_t k = 0; k < inherited.size() && k < kMaxSteeredSockets; ++k) {
    Worker* w = workers_[k % workers_.size()].get();
    int fd = dup_inherited(*inherited[k], ep.name, problems);
    if (fd < 0) return {};
    udp::socket socket(w->io());
    socket.assign(inherited[k]->address.is_v6() ? udp::v6() : udp::v4(), fd);
    out.emplace_back(w, std::move(socket));
  }
  if (!inherited.empty()) return out;
  const size_t count = kHttp3SocketPerWorker ? std::min<size_t>(workers_.size(), kMaxSteeredSockets) : 1;
  Worker* first = workers_[kHttp3SocketPerWorker ? 0 : http3_next_++ % workers_.size()].get();
  std::string error;
  auto socket = open_udp_socket(first->io(), {addr, ep.port}, kHttp3SocketPerWorker || ep.reuse_port, &error);
  if (!socket.is_open() && addr.is_v6() && addr.is_unspecified())
    socket = open_udp_socket(first->io(), {asio::ip::address_v4::any(), ep.port},
                             kHttp3SocketPerWorker || ep.reuse_port, &error);
  if (!socket.is_open()) {
    problems.push_back("entrypoint " + ep.name + ": cannot listen on " + error + " (http3)");
    return {};
  }
  error_code ec;
  const auto bound = socket.local_endpoint(ec);  // the others join it: same address and port
  out.emplace_back(first, std::move(socket));
  for (size_t i = 1; i < count; ++i) {
    Worker* w = workers_[i].get();
    auto more = open_udp_socket(w->io(), bound, true, &error);
    if (!more.is_open()) {
      problems.push_back("entrypoint " + ep.name + ": cannot listen on " + error + " (http3)");
      return {};
    }
    out.emplace_back(w, std::move(more));
  }
  return out;
}

std::vector<ProxyServer::Http3Status> ProxyServer::http3_listeners() const {
  std::vector<Http3Status> out;
  for (const auto& s : http3_sockets_) {
    Http3Status status{s.entry_point, s.address, 0, s.listeners.size()};
    for (const auto* l : s.listeners) status.connections += l->live_connections();
    out.push_back(std::move(status));
  }
  return out;
}

// udp-{port} entrypoints: one socket per address on one worker (SO_REUSEPORT would re-hash a
// client's datagrams across workers and split its session).
void ProxyServer::open_udp_forwarders(std::vector<std::string>& problems) {
  size_t next = 0;
  for (const auto& [name, ep] : cfg_.entry_points) {
    if (ep.protocol != config::EntryPoint::Protocol::udp) continue;
    for (const auto& addr : entry_addresses(ep, problems)) {
      Worker& w = *workers_[next++ % workers_.size()];
      auto socket = udp_socket_on(w.io(), ep, addr, problems);
      if (!socket.is_open()) continue;
      UdpForwarderOptions options;
      options.entry_point = name;
      options.session_timeout = ep.udp_timeout;
      w.add_udp_forwarder(std::make_unique<UdpForwarder>(std::move(socket), tcp_snapshot_, options,
                                                         static_cast<uint32_t>(w.id())));
    }
  }
}

// The UDP socket of `ep` on `addr`: the inherited one bound there, else one bound here.
udp::socket ProxyServer::udp_socket_on(asio::io_context& io, const config::EntryPoint& ep,
                                       const asio::ip::address& addr, std::vector<std::string>& problems) {
  auto inherited = inherited_ ? inherited_->take(false, addr, ep.port) : std::vector<const core::InheritedSocket*>{};
  if (!inherited.empty()) {
    udp::socket socket(io);
    int fd = dup_inherited(*inherited.front(), ep.name, problems);
    if (fd >= 0) socket.assign(inherited.front()->address.is_v6() ? udp::v6() : udp::v4(), fd);
    return socket;
  }
  std::string error;
  auto socket = open_udp_socket(io, {addr, ep.port}, ep.reuse_port, &error);
  if (!socket.is_open() && addr.is_v6() && addr.is_unspecified())
    socket = open_udp_socket(io, {asio::ip::address_v4::any(), ep.port}, ep.reuse_port, &error);
  if (!socket.is_open()) problems.push_back("entrypoint " + ep.name + ": cannot listen on " + error);
  return socket;
}

void ProxyServer::start() {
  for (auto& w : workers_) w->start();
}

void ProxyServer::publish(std::shared_ptr<RuntimeConfig> rc) {
  rc->generation = ++generation_;
  snapshot_.publish(std::move(rc));
}

void ProxyServer::publish_tcp(std::shared_ptr<TcpRuntime> rt) {
  rt->generation = ++tcp_generation_;
  tcp_snapshot_.publish(std::move(rt));
}

// The HTTP/3 sockets of an address in steering order: the successor numbers them as passed.
std::vector<std::pair<int, std::string>> ProxyServer::listening_sockets() {
  std::vector<std::pair<int, std::string>> out;
  for (auto& w : workers_) w->listening_sockets(out);
  for (auto& s : http3_sockets_)
    for (auto* l : s.listeners) out.emplace_back(l->native_handle(), s.entry_point);
  return out;
}

void ProxyServer::begin_drain() {
  for (auto& w : workers_) w->begin_drain();
}

int ProxyServer::active_connections() const {
  int n = 0;
  for (const auto& w : workers_) n += w->active_connections();
  return n;
}

size_t ProxyServer::udp_sessions() const {
  size_t n = 0;
  for (const auto& w : workers_) n += w->udp_sessions();
  return n;
}

void ProxyServer::stop() {
  for (auto& w : workers_) w->stop();
  observability_->flush_stopped();
  PasswordVerifier::instance().quiesce();  // no basicAuth check may post to a dead worker
}

}  // namespace portier::proxy
