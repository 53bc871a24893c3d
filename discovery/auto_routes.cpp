#include "discovery/auto_routes.hpp"

#include <arpa/inet.h>

#include "config/value_parsers.hpp"

namespace portier::discovery {
namespace {

bool is_ip(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string host_port(const std::string& ip, int port) {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

bool valid_name(const std::string& s) {
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return !s.empty();
}

}  // namespace

RediaccLabels read_rediacc_labels(const ContainerInfo& c, std::vector<config::ConfigError>& errors) {
  RediaccLabels out;
  auto fail = [&](const std::string& key, const std::string& message) {
    errors.push_back({"docker", container_source(c), key, message});
  };
  auto get = [&](const char* key) -> const std::string* {
    auto it = c.labels.find(key);
    return it == c.labels.end() ? nullptr : &it->second;
  };
  if (auto v = get("rediacc.service_name")) {
    if (valid_name(*v)) out.service_name = *v;
    else fail("rediacc.service_name", "invalid service name \"" + *v + "\"");
  }
  if (auto v = get("rediacc.network_id")) {
    if (valid_name(*v)) out.network_id = *v;
    else fail("rediacc.network_id", "invalid network id \"" + *v + "\"");
  }
  if (auto v = get("rediacc.service_ip")) {
    if (is_ip(*v)) out.service_ip = *v;
    else fail("rediacc.service_ip", "invalid IP address \"" + *v + "\"");
  }
  if (auto v = get("rediacc.service_port")) {
    if (auto p = config::parse_port(*v)) out.service_port = *p;
    else fail("rediacc.service_port", "invalid port \"" + *v + "\"");
  }
  for (auto [key, list] : {std::pair{"rediacc.tcp_ports", &out.tcp_ports}, std::pair{"rediacc.udp_ports", &out.udp_ports}}) {
    auto v = get(key);
    if (!v) continue;
    for (const auto& item : config::split_comma_list(*v)) {
      if (auto p = config::parse_port(item)) list->push_back(*p);
      else fail(key, "invalid port \"" + item + "\"");
    }
    if ((!list->empty()) && (out.service_ip.empty() || out.service_name.empty()))
      fail(key, "needs rediacc.service_name and rediacc.service_ip");
  }
  return out;
}

void add_auto_route(const RediaccLabels& l, const DecodeOptions& o, config::Dynamic& out) {
  std::string name = l.service_name + "-" + l.network_id;
  config::HttpRouter router;
  router.rule = "Host(`" + name + "." + o.base_domain + "`)";
  for (const char* ep : {"websecure", "websecure-v6"})
    if (o.entry_points.count(ep)) router.entry_points.push_back(ep);
  router.service = name;
  router.tls.emplace();
  if (o.cert_resolvers.count("letsencrypt")) {
    router.tls->cert_resolver = "letsencrypt";
    router.tls->domains.push_back({"*." + o.base_domain, {}});
  }
  router.provider = "docker";
  out.http.routers[name] = router;
  config::HttpService service;
  service.load_balancer.emplace();
  service.load_balancer->servers.push_back({"http://" + host_port(l.service_ip, l.service_port), 1});
  service.provider = "docker";
  out.http.services[name] = service;
}

std::string port_route_name(const PortRequest& r) {
  return r.service + "-" + r.network_id + "-" + r.proto + "-" + std::to_string(r.port);
}

void add_port_route(const PortRequest& r, uint16_t external, config::Dynamic& out) {
  std::string name = port_route_name(r);
  std::string ep = r.proto + "-" + std::to_string(external);
  std::string target = host_port(r.service_ip, r.port);
  if (r.proto == "udp") {
    out.udp.routers[name] = config::UdpRouter{{ep}, name, "docker"};
    config::UdpService s;
    s.servers.push_back({target, 1});
    s.provider = "docker";
    out.udp.services[name] = s;
    return;
  }
  config::TcpRouter router;
  router.rule = "HostSNI(`*`)";
  router.entry_points = {ep};
  router.service = name;
  router.provider = "docker";
  out.tcp.routers[name] = router;
  config::TcpService s;
  s.servers.push_back({target, 1});
  s.provider = "docker";
  out.tcp.services[name] = s;
}

}  // namespace portier::discovery
