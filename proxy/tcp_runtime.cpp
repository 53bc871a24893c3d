#include "proxy/tcp_runtime.hpp"

#include <netdb.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

#include "config/rule.hpp"

namespace portier::proxy {
namespace {

// "host:port" or "[v6]:port" -> (host, port). Numeric hosts directly, names through the
// system resolver (control thread only).
bool resolve_address(const std::string& address, boost::asio::ip::address& out_addr, uint16_t& out_port) {
  std::string host, port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (host.empty() || port.empty() || *end != '\0' || p <= 0 || p > 65535) return false;
  out_port = static_cast<uint16_t>(p);
  boost::system::error_code ec;
  out_addr = boost::asio::ip::make_address(host, ec);
  if (!ec) return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  if (res->ai_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(res->ai_addr);
    out_addr = boost::asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(res->ai_addr);
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
    out_addr = boost::asio::ip::address_v6(bytes);
  }
  ::freeaddrinfo(res);
  return true;
}

// The transports of one compile, by name; default@internal (also for an empty name) is the
// static `tcpServersTransport`.
class TcpTransports {
 public:
  TcpTransports(const config::Dynamic& dyn, const config::StaticConfig& cfg, std::vector<std::string>* problems)
      : dyn_(dyn), cfg_(cfg), problems_(problems) {
    for (const auto& [name, svc] : dyn.tcp.services)
      for (const auto& server : svc.servers)
        if (server.tls) tls_.insert(key(svc.servers_transport));
  }
  const std::shared_ptr<const TcpTransport>& get(const std::string& wanted) {
    std::string name = key(wanted);
    auto& slot = built_[name];
    if (!slot) slot = make_tcp_transport(name, settings(name), tls_.count(name) > 0, problems_);
    return slot;
  }
  const config::TcpServersTransport& settings(const std::string& name) const {
    auto it = dyn_.tcp.servers_transports.find(name);
    return it == dyn_.tcp.servers_transports.end() ? cfg_.tcp_servers_transport : it->second;
  }

 private:
  std::string key(const std::string& name) const {
    return dyn_.tcp.servers_transports.count(name) ? name : config::kDefaultTransport;
  }
  const config::Dynamic& dyn_;
  const config::StaticConfig& cfg_;
  std::vector<std::string>* problems_;
  std::set<std::string> tls_;
  std::map<std::string, std::shared_ptr<const TcpTransport>> built_;
};

// Traefik's DialerManager.Build: a service that names a serversTransport takes the
// transport's proxyProtocol and terminationDelay, otherwise its own (deprecated) ones.
void apply_transport(const config::TcpService& svc, TcpTransports& transports, TcpServiceRuntime& out) {
  out.transport = transports.get(svc.servers_transport);
  std::optional<config::TcpProxyProtocol> proxy = svc.proxy_protocol;
  out.termination_delay = std::chrono::milliseconds(svc.termination_delay);
  if (!svc.servers_transport.empty()) {
    const config::TcpServersTransport& t = transports.settings(out.transport->name);
    proxy = t.proxy_protocol;
    out.termination_delay = t.termination_delay;
  }
  out.proxy_protocol = proxy ? proxy->version : 0;
}

TcpServiceRuntime compile_service(const std::string& name, const config::TcpService& svc, TcpTransports& transports,
                                  std::vector<std::string>* problems) {
  TcpServiceRuntime out;
  out.name = name;
  apply_transport(svc, transports, out);
  std::vector<int> weights;
  for (const auto& server : svc.servers) {
    TcpBackend b;
    boost::asio::ip::address addr;
    uint16_t port = 0;
    if (!resolve_address(server.address, addr, port)) {
      if (problems) problems->push_back("tcp service " + name + ": cannot use server address \"" + server.address + "\"");
      continue;
    }
    b.address = server.address;
    b.endpoint = {addr, port};
    b.weight = server.weight;
    b.tls = server.tls;
    weights.push_back(server.weight);
    out.servers.push_back(std::move(b));
  }
  out.schedule = weighted_schedule(weights);
  return out;
}

UdpServiceRuntime compile_udp_service(const std::string& name, const config::UdpService& svc,
                                      std::vector<std::string>* problems) {
  UdpServiceRuntime out;
  out.name = name;
  std::vector<int> weights;
  for (const auto& server : svc.servers) {
    boost::asio::ip::address addr;
    uint16_t port = 0;
    if (!resolve_address(server.address, addr, port)) {
      if (problems) problems->push_back("udp service " + name + ": cannot use server address \"" + server.address + "\"");
      continue;
    }
    out.servers.emplace_back(addr, port);
    weights.push_back(server.weight);
  }
  out.schedule = weighted_schedule(weights);
  return out;
}

bool attached(const std::vector<std::string>& entry_points, const std::string& name) {
  return entry_points.empty() || std::find(entry_points.begin(), entry_points.end(), name) != entry_points.end();
}

void compile_tcp(const config::Dynamic& dyn, const config::StaticConfig& cfg, TcpRuntime& rt,
                 std::vector<std::string>* problems) {
  std::map<std::string, uint32_t> service_index;
  TcpTransports transports(dyn, cfg, problems);
  for (const auto& [name, svc] : dyn.tcp.services) {
    service_index[name] = static_cast<uint32_t>(rt.services.size());
    rt.services.push_back(compile_service(name, svc, transports, problems));
  }
  struct Pending {
    TcpRouteRuntime route;
    std::vector<std::string> entry_points;
  };
  std::vector<Pending> pending;
  for (const auto& [name, router] : dyn.tcp.routers) {
    auto report = [&](const std::string& msg) {
      if (problems) problems->push_back("tcp router " + name + ": " + msg);
    };
    auto svc = service_index.find(router.service);
    if (svc == service_index.end()) {
      report("service \"" + router.service + "\" does not exist");
      continue;
    }
    auto parsed = config::parse_rule(router.rule, config::RuleKind::tcp);
    std::string error = parsed.error;
    std::optional<TcpMatcher> matcher;
    if (parsed.root) matcher = compile_tcp_rule(*parsed.root, &error);
    if (!matcher) {
      report(error);
      continue;
    }
    bool tls = router.tls.has_value();
    if (!tls && !config::rule_host_names(*parsed.root).empty()) {
      report("HostSNI with a host name needs tls (a non-TLS connection has no SNI)");
      continue;
    }
    TcpRouteRuntime r;
    if (!router.middlewares.empty() &&
        !(r.gate = TcpGate::make(router.middlewares, dyn.tcp.middlewares, &error))) {
      report(error);
      continue;
    }
    r.name = name;
    r.catch_all = matcher->catch_all();
    r.matcher = std::move(*matcher);
    r.tls = tls;
    r.passthrough = tls && router.tls->passthrough;
    r.service = svc->second;
    r.priority = router.priority ? router.priority : r.catch_all ? INT_MIN : static_cast<int>(router.rule.size());
    pending.push_back({std::move(r), router.entry_points});
  }
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    if (a.route.priority != b.route.priority) return a.route.priority > b.route.priority;
    return a.route.name < b.route.name;
  });
  auto names = tcp_entry_point_names(cfg);
  rt.entries.resize(names.size());
  for (size_t e = 0; e < names.size(); ++e) rt.entries[e].entry_point = names[e];
  for (uint32_t idx = 0; idx < pending.size(); ++idx) {
    for (size_t e = 0; e < names.size(); ++e) {
      if (!attached(pending[idx].entry_points, names[e])) continue;
      auto& table = rt.entries[e];
      (pending[idx].route.tls ? table.tls_routes : table.plain_routes).push_back(idx);
    }
  }
  for (auto& p : pending) rt.routes.push_back(std::move(p.route));
  for (auto& table : rt.entries) {
    table.needs_peek = !table.tls_routes.empty();
    for (uint32_t idx : table.plain_routes)
      if (!rt.routes[idx].catch_all) table.needs_peek = true;
  }
}

void compile_udp(const config::Dynamic& dyn, const config::StaticConfig& cfg, TcpRuntime& rt,
                 std::vector<std::string>* problems) {
  std::map<std::string, int32_t> service_index;
  for (const auto& [name, svc] : dyn.udp.services) {
    service_index[name] = static_cast<int32_t>(rt.udp_services.size());
    rt.udp_services.push_back(compile_udp_service(name, svc, problems));
  }
  auto names = udp_entry_point_names(cfg);
  rt.udp_entries.resize(names.size());
  for (size_t e = 0; e < names.size(); ++e) rt.udp_entries[e].entry_point = names[e];
  for (const auto& [name, router] : dyn.udp.routers) {  // std::map: by name, deterministic
    auto svc = service_index.find(router.service);
    if (svc == service_index.end()) {
      if (problems) problems->push_back("udp router " + name + ": service \"" + router.service + "\" does not exist");
      continue;
    }
    for (auto& entry : rt.udp_entries) {
      if (!attached(router.entry_points, entry.entry_point)) continue;
      if (entry.service >= 0) {
        if (problems)
          problems->push_back("udp router " + name + ": entrypoint " + entry.entry_point + " already served by router " +
                              entry.router);
        continue;
      }
      entry.service = svc->second;
      entry.router = name;
    }
  }
}

}  // namespace


std::vector<std::string> tcp_entry_point_names(const config::StaticConfig& cfg) {
  std::vector<std::string> names;
  for (const auto& [name, ep] : cfg.entry_points)
    if (ep.protocol == config::EntryPoint::Protocol::tcp) names.push_back(name);
  return names;
}

std::vector<std::string> udp_entry_point_names(const config::StaticConfig& cfg) {
  std::vector<std::string> names;
  for (const auto& [name, ep] : cfg.entry_points)
    if (ep.protocol == config::EntryPoint::Protocol::udp) names.push_back(name);
  return names;
}

const TcpRouteRuntime* TcpRuntime::route(size_t entry, const ConnView& conn) const {
  if (entry >= entries.size()) return nullptr;
  const TcpEntryTable& t = entries[entry];
  if (conn.is_tls)
    for (uint32_t idx : t.tls_routes)
      if (routes[idx].matcher.match(conn)) return &routes[idx];
  for (uint32_t idx : t.plain_routes)
    if (routes[idx].matcher.match(conn)) return &routes[idx];
  return nullptr;
}

int TcpRuntime::entry_index(std::string_view name) const {
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i].entry_point == name) return static_cast<int>(i);
  return -1;
}

int TcpRuntime::udp_entry_index(std::string_view name) const {
  for (size_t i = 0; i < udp_entries.size(); ++i)
    if (udp_entries[i].entry_point == name) return static_cast<int>(i);
  return -1;
}

std::shared_ptr<TcpRuntime> compile_tcp_runtime(const config::Dynamic& dyn, const config::StaticConfig& cfg,
                                                      std::vector<std::string>* problems) {
  auto rt = std::make_shared<TcpRuntime>();
  compile_tcp(dyn, cfg, *rt, problems);
  compile_udp(dyn, cfg, *rt, problems);
  return rt;
}

SharedDispatch decide_shared(const TcpRuntime& rt, size_t entry, const ConnView& conn,
                             const std::function<bool(std::string_view sni)>& https_serves_sni) {
  if (conn.is_tls && https_serves_sni && https_serves_sni(conn.sni)) return SharedDispatch::http;
  return rt.route(entry, conn) ? SharedDispatch::tcp : SharedDispatch::http;
}

}  // namespace portier::proxy
