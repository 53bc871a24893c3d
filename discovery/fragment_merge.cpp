#include "discovery/fragment_merge.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace portier::discovery {
namespace {

template <class T>
struct Candidate {
  T value;
  std::vector<std::string> sources;
  bool conflict = false;
};

// Service-like values: everything but the servers must agree; servers are concatenated.
template <class T>
bool merge_servers(T& into, const T& from) {
  T a = into, b = from;
  if constexpr (std::is_same_v<T, config::HttpService>) {
    if (!a.load_balancer || !b.load_balancer) return a == b;
    a.load_balancer->servers.clear();
    b.load_balancer->servers.clear();
    if (!(a == b)) return false;
    auto& servers = into.load_balancer->servers;
    for (const auto& s : from.load_balancer->servers)
      if (std::find(servers.begin(), servers.end(), s) == servers.end()) servers.push_back(s);
  } else {
    a.servers.clear();
    b.servers.clear();
    if (!(a == b)) return false;
    for (const auto& s : from.servers)
      if (std::find(into.servers.begin(), into.servers.end(), s) == into.servers.end()) into.servers.push_back(s);
  }
  return true;
}

template <class T, bool Servers>
void collect(std::map<std::string, Candidate<T>>& acc, const std::map<std::string, T>& in,
             const std::string& source) {
  for (const auto& [name, value] : in) {
    auto [it, fresh] = acc.try_emplace(name, Candidate<T>{value, {source}});
    if (fresh) continue;
    auto& c = it->second;
    c.sources.push_back(source);
    if (c.conflict) continue;
    if constexpr (Servers) {
      if (!merge_servers(c.value, value)) c.conflict = true;
    } else {
      if (!(c.value == value)) c.conflict = true;
    }
  }
}

// `section` is the Fragment::sources key prefix ("http.routers"): errors found later, when
// the providers are merged, name the containers that defined the item.
template <class T>
void emit(std::map<std::string, Candidate<T>>& acc, std::map<std::string, T>& out, config::Fragment& f,
          const std::string& section, const std::string& what, const std::string& label) {
  for (auto& [name, c] : acc) {
    std::string sources;
    for (const auto& s : c.sources) sources += (sources.empty() ? "" : "; ") + s;
    if (!c.conflict) {
      out[name] = std::move(c.value);
      f.sources[section + "." + name] = sources;
      continue;
    }
    auto& errors = f.errors;
    errors.push_back({"docker", sources, label + name,
                      what + " \"" + name + "\" is defined differently by several containers; dropped"});
  }
}

}  // namespace

config::Fragment merge_fragments(const std::vector<SourcedDynamic>& inputs,
                                 std::vector<config::ConfigError> errors) {
  std::map<std::string, Candidate<config::HttpRouter>> http_routers;
  std::map<std::string, Candidate<config::HttpService>> http_services;
  std::map<std::string, Candidate<config::Middleware>> middlewares;
  std::map<std::string, Candidate<config::TcpRouter>> tcp_routers;
  std::map<std::string, Candidate<config::TcpService>> tcp_services;
  std::map<std::string, Candidate<config::TcpMiddleware>> tcp_middlewares;
  std::map<std::string, Candidate<config::UdpRouter>> udp_routers;
  std::map<std::string, Candidate<config::UdpService>> udp_services;
  for (const auto& in : inputs) {
    const auto& d = in.dynamic;
    collect<config::HttpRouter, false>(http_routers, d.http.routers, in.source);
    collect<config::HttpService, true>(http_services, d.http.services, in.source);
    collect<config::Middleware, false>(middlewares, d.http.middlewares, in.source);
    collect<config::TcpRouter, false>(tcp_routers, d.tcp.routers, in.source);
    collect<config::TcpService, true>(tcp_services, d.tcp.services, in.source);
    collect<config::TcpMiddleware, false>(tcp_middlewares, d.tcp.middlewares, in.source);
    collect<config::UdpRouter, false>(udp_routers, d.udp.routers, in.source);
    collect<config::UdpService, true>(udp_services, d.udp.services, in.source);
  }
  config::Fragment out;
  out.errors = std::move(errors);
  auto& d = out.dynamic;
  emit(http_routers, d.http.routers, out, "http.routers", "router", "traefik.http.routers.");
  emit(http_services, d.http.services, out, "http.services", "service", "traefik.http.services.");
  emit(middlewares, d.http.middlewares, out, "http.middlewares", "middleware", "traefik.http.middlewares.");
  emit(tcp_routers, d.tcp.routers, out, "tcp.routers", "tcp router", "traefik.tcp.routers.");
  emit(tcp_services, d.tcp.services, out, "tcp.services", "tcp service", "traefik.tcp.services.");
  emit(tcp_middlewares, d.tcp.middlewares, out, "tcp.middlewares", "tcp middleware", "traefik.tcp.middlewares.");
  emit(udp_routers, d.udp.routers, out, "udp.routers", "udp router", "traefik.udp.routers.");
  emit(udp_services, d.udp.services, out, "udp.services", "udp service", "traefik.udp.services.");
  return out;
}

}  // namespace portier::discovery
