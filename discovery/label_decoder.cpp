#include "discovery/label_decoder.hpp"

#include <cctype>
#include <map>
#include <optional>

#include "config/value_parsers.hpp"
#include "discovery/auto_routes.hpp"
#include "discovery/label_fields.hpp"
#include "discovery/rule_template.hpp"

namespace portier::discovery {
namespace {

using labels::FieldPath;

// Everything `traefik.*` labels say about one container, before defaults are applied.
struct Parsed {
  std::optional<bool> enable;
  std::string network;
  bool any_traefik = false;  // some traefik.* label other than traefik.enable
  std::map<std::string, config::HttpRouter> http_routers;
  std::map<std::string, labels::RawHttpService> http_services;
  std::map<std::string, labels::RawMiddleware> middlewares;
  std::map<std::string, config::TcpRouter> tcp_routers;
  std::map<std::string, labels::RawTcpService> tcp_services;
  std::map<std::string, labels::RawTcpMiddleware> tcp_middlewares;
  std::map<std::string, config::UdpRouter> udp_routers;
  std::map<std::string, labels::RawUdpService> udp_services;
  std::vector<std::pair<std::string, std::string>> errors;  // label, message
  std::optional<std::pair<std::string, std::string>> enable_error;  // reported even when disabled
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

FieldPath split_key(const std::string& key) {
  FieldPath f;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    f.raw.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    f.lower.push_back(lower(f.raw.back()));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return f;
}

FieldPath tail(const FieldPath& f, std::size_t from) {
  FieldPath out;
  out.lower.assign(f.lower.begin() + from, f.lower.end());
  out.raw.assign(f.raw.begin() + from, f.raw.end());
  return out;
}

bool is_v1_label(const std::string& second) {
  static const char* v1[] = {"frontend", "backend", "port", "protocol", "weight", "tags",
                             "domain", "passhostheader", "passtlscert", "priority", "entrypoints"};
  for (const char* k : v1)
    if (second == k) return true;
  return false;
}

std::string dispatch(Parsed& p, const FieldPath& f, const std::string& value) {
  const auto& t = f.lower;
  const std::string& proto = t[1];
  if (t.size() < 3) return "incomplete label";
  const std::string& kind = t[2];
  bool known = kind == "routers" || kind == "services" || (proto != "udp" && kind == "middlewares") ||
               (proto == "http" && kind == "serverstransports");
  if (!known) return "unknown " + proto + " section \"" + f.raw[2] + "\"";
  if (t.size() < 4) return "incomplete label";
  const std::string& name = f.raw[3];
  if (name.empty()) return "empty name";
  if (t.size() < 5) return "missing field after \"" + name + "\"";
  FieldPath rest = tail(f, 4);
  if (proto == "http") {
    if (kind == "routers") return labels::set_http_router(p.http_routers[name], rest, value);
    if (kind == "services") return labels::set_http_service(p.http_services[name], rest, value);
    if (kind == "middlewares") return labels::set_middleware(p.middlewares[name], rest, value);
    if (kind == "serverstransports") return "serversTransports cannot be defined in labels";
  } else if (proto == "tcp") {
    if (kind == "routers") return labels::set_tcp_router(p.tcp_routers[name], rest, value);
    if (kind == "services") return labels::set_tcp_service(p.tcp_services[name], rest, value);
    if (kind == "middlewares") return labels::set_middleware(p.tcp_middlewares[name], rest, value);
  } else {
    if (kind == "routers") return labels::set_udp_router(p.udp_routers[name], rest, value);
    if (kind == "services") return labels::set_udp_service(p.udp_services[name], rest, value);
  }
  return "unknown " + proto + " section \"" + f.raw[2] + "\"";
}

std::string parse_label(Parsed& p, const FieldPath& f, const std::string& value) {
  const auto& t = f.lower;
  if (t.size() == 2 && t[1] == "enable") {
    bool on = false;
    if (auto e = config::read_bool(value, on); !e.empty()) return e;
    p.enable = on;
    return {};
  }
  p.any_traefik = true;
  if (t.size() < 2) return "unknown label";
  if (t[1] == "http" || t[1] == "tcp" || t[1] == "udp") return dispatch(p, f, value);
  if (t[1] == "docker" && t.size() == 3) {
    if (t[2] == "network") return p.network = value, "";
    if (t[2] == "lbswarm") return {};  // swarm only; meaningless here
  }
  if (t.size() == 2 && (t[1] == "enabled" || t[1] == "enable.enabled")) return "unknown label (did you mean traefik.enable?)";
  if (is_v1_label(t[1]))
    return "Traefik v1 label is not supported; use traefik.http.routers.<name>.* and traefik.http.services.<name>.*";
  return "unknown label";
}

Parsed parse_labels(const ContainerInfo& c) {
  Parsed p;
  for (const auto& [key, value] : c.labels) {
    if (lower(key.substr(0, 8)) != "traefik.") continue;
    FieldPath f = split_key(key);
    auto e = parse_label(p, f, value);
    if (e.empty()) continue;
    if (f.lower.size() == 2 && f.lower[1] == "enable") p.enable_error.emplace(key, e);
    else p.errors.emplace_back(key, e);
  }
  return p;
}

// The address a server port is reached at; "" with *error set when there is none.
std::string backend_ip(const ContainerInfo& c, const std::string& preferred, std::string* error) {
  if (auto it = c.labels.find("rediacc.service_ip"); it != c.labels.end()) return it->second;
  if (!preferred.empty())
    if (auto it = c.networks.find(preferred); it != c.networks.end() && !it->second.empty()) return it->second;
  for (const auto& [name, ip] : c.networks)  // std::map: sorted names, deterministic
    if (!ip.empty()) return ip;
  if (c.network_mode == "host") return "127.0.0.1";
  *error = "no IP address for the container (set rediacc.service_ip or attach it to a network)";
  return {};
}

std::string host_port(const std::string& ip, const std::string& port) {
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
}

struct Builder {
  const ContainerInfo& c;
  const DecodeOptions& o;
  Parsed& p;
  ContainerFragment& out;
  std::string service_name;
  std::string ip;
  std::string ip_error;
  bool ip_done = false;

  Builder(const ContainerInfo& c_, const DecodeOptions& o_, Parsed& p_, ContainerFragment& out_)
      : c(c_), o(o_), p(p_), out(out_), service_name(normalize_name(c_.name)) {}

  void fail(const std::string& label, const std::string& message) {
    out.errors.push_back({"docker", container_source(c), label, message});
  }
  const std::string* backend() {
    if (!ip_done) ip = backend_ip(c, p.network.empty() ? o.network : p.network, &ip_error), ip_done = true;
    return ip.empty() ? nullptr : &ip;
  }
  // Port from the label, else the container's lowest exposed port.
  std::string port_or_default(int port) {
    if (port != 0) return std::to_string(port);
    return c.ports.empty() ? std::string() : std::to_string(c.ports.front());
  }
  // "ip:port" of the container's server for a service port (0: its lowest exposed port): the
  // port binding's host address with use_bind_port_ip when bound to one address, else the
  // container's address. "" after reporting why under `label` (the service's label prefix).
  std::string address_for(const std::string& label, int raw_port) {
    std::string port = port_or_default(raw_port);
    if (port.empty()) {
      fail(label + ".loadbalancer.server.port", "port is missing");
      return {};
    }
    if (o.use_bind_port_ip)
      if (auto b = c.port_bindings.find(std::stoi(port)); b != c.port_bindings.end() && usable(b->second))
        return host_port(b->second.host_ip, b->second.host_port);
    const std::string* a = backend();
    if (!a) {
      fail(label, ip_error);
      return {};
    }
    return host_port(*a, port);
  }
  static bool usable(const PortBinding& b) {
    return !b.host_port.empty() && !b.host_ip.empty() && b.host_ip != "0.0.0.0" && b.host_ip != "::";
  }
  template <class Map>
  std::string only_key(const Map& m) { return m.size() == 1 ? m.begin()->first : std::string(); }
  template <class Map>
  std::string keys(const Map& m) {
    std::string s;
    for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
    return s;
  }

  template <class RouterMap, class ServiceMap>
  void link_routers(RouterMap& routers, const ServiceMap& services, const char* proto) {
    for (auto& [name, r] : routers) {
      if (!r.service.empty()) continue;
      if (services.size() == 1) r.service = services.begin()->first;
      else fail(std::string("traefik.") + proto + ".routers." + name + ".service",
                "router has no service and the container defines several (" + keys(services) + ")");
    }
  }

  void build_tcp() {
    if (p.tcp_services.empty()) p.tcp_services[service_name];
    for (auto& [name, raw] : p.tcp_services) {
      config::TcpService s = raw.svc;
      s.provider = "docker";
      std::string address = raw.address;
      if (address.empty()) address = address_for("traefik.tcp.services." + name, raw.port);
      if (address.empty()) continue;
      s.servers.push_back({address, raw.weight, raw.tls});
      out.dynamic.tcp.services[name] = s;
    }
    link_routers(p.tcp_routers, p.tcp_services, "tcp");
    for (auto& [name, r] : p.tcp_routers) {
      if (r.rule.empty()) fail("traefik.tcp.routers." + name + ".rule", "empty rule");
      r.provider = "docker";
      out.dynamic.tcp.routers[name] = r;
    }
  }

  void build_udp() {
    if (p.udp_services.empty()) p.udp_services[service_name];
    for (auto& [name, raw] : p.udp_services) {
      config::UdpService s = raw.svc;
      s.provider = "docker";
      std::string address = raw.address;
      if (address.empty()) address = address_for("traefik.udp.services." + name, raw.port);
      if (address.empty()) continue;
      s.servers.push_back({address, raw.weight});
      out.dynamic.udp.services[name] = s;
    }
    link_routers(p.udp_routers, p.udp_services, "udp");
    for (auto& [name, r] : p.udp_routers) {
      r.provider = "docker";
      out.dynamic.udp.routers[name] = r;
    }
  }

  void build_http() {
    if (p.http_services.empty()) p.http_services[service_name];
    for (auto& [name, raw] : p.http_services) {
      std::string url = raw.url;
      if (url.empty()) {
        std::string address = address_for("traefik.http.services." + name, raw.port);
        if (address.empty()) continue;
        url = (raw.scheme.empty() ? "http" : raw.scheme) + "://" + address;
      }
      config::HttpService s;
      s.load_balancer = raw.lb;
      s.load_balancer->servers.push_back({url, raw.weight});
      s.provider = "docker";
      out.dynamic.http.services[name] = s;
    }
    for (auto& [name, m] : p.middlewares) {
      if (m.type.empty()) continue;
      out.dynamic.http.middlewares[name] = config::Middleware{m.spec, "docker"};
    }
    if (p.http_routers.empty() && p.http_services.size() == 1) p.http_routers[service_name];
    link_routers(p.http_routers, p.http_services, "http");
    for (auto& [name, r] : p.http_routers) {
      if (r.rule.empty()) {
        RuleTemplateData data{service_name, c.name, &c.labels};
        if (auto e = render_rule_template(o.default_rule, data, r.rule); !e.empty()) {
          fail("defaultRule", e);
          continue;
        }
        if (r.rule.empty()) { fail("traefik.http.routers." + name + ".rule", "undefined rule"); continue; }
      }
      r.provider = "docker";
      out.dynamic.http.routers[name] = r;
    }
  }

  void build() {
    for (auto& [name, m] : p.tcp_middlewares)
      if (!m.type.empty()) out.dynamic.tcp.middlewares[name] = config::TcpMiddleware{m.spec, "docker"};
    bool tcp = !p.tcp_routers.empty() || !p.tcp_services.empty();
    bool udp = !p.udp_routers.empty() || !p.udp_services.empty();
    if (tcp) build_tcp();
    if (udp) build_udp();
    bool http = !p.http_routers.empty() || !p.http_services.empty() || !p.middlewares.empty();
    if ((tcp || udp || !p.tcp_middlewares.empty()) && !http) return;
    build_http();
  }
};

bool can_find_port(const ContainerInfo& c) { return !c.ports.empty(); }

// allowEmptyServices: the container's services stay, without servers.
void drop_servers(config::Dynamic& d) {
  for (auto& [name, s] : d.http.services)
    if (s.load_balancer) s.load_balancer->servers.clear();
  for (auto& [name, s] : d.tcp.services) s.servers.clear();
  for (auto& [name, s] : d.udp.services) s.servers.clear();
}

}  // namespace

std::string container_source(const ContainerInfo& c) {
  return "container " + c.name + " on " + c.endpoint;
}

ContainerFragment decode_container(const ContainerInfo& c, const DecodeOptions& o) {
  ContainerFragment out;
  bool unhealthy = !c.health.empty() && c.health != "healthy";
  if (c.state != "running" || (unhealthy && !o.allow_empty_services)) return out;
  Parsed p = parse_labels(c);
  RediaccLabels rediacc = read_rediacc_labels(c, out.errors);
  bool traefik_on = p.enable.value_or(o.exposed_by_default);
  bool auto_route = rediacc.complete() && !o.base_domain.empty() && p.enable != true;
  if (p.enable_error) out.errors.push_back({"docker", container_source(c), p.enable_error->first, p.enable_error->second});
  if (traefik_on)
    for (auto& [label, message] : p.errors) out.errors.push_back({"docker", container_source(c), label, message});
  bool wants_traefik = traefik_on && (p.any_traefik || (!auto_route && can_find_port(c)));
  out.enabled = wants_traefik || auto_route || !rediacc.tcp_ports.empty() || !rediacc.udp_ports.empty() ||
                !out.errors.empty();
  if (out.enabled && o.constraints && !o.constraints->matches(c.labels)) {
    // As Traefik: not decoded further, no label errors; said only when it would have counted.
    out = {};
    out.skipped = "does not match providers.docker.constraints";
    return out;
  }
  if (!out.errors.empty()) return out;
  if (wants_traefik) Builder(c, o, p, out).build();
  if (auto_route) add_auto_route(rediacc, o, out.dynamic);
  if (!out.errors.empty()) {
    out.dynamic = {};
    return out;
  }
  if (unhealthy) {
    drop_servers(out.dynamic);
    return out;
  }
  for (auto [proto, list] : {std::pair{"tcp", &rediacc.tcp_ports}, std::pair{"udp", &rediacc.udp_ports}})
    for (uint16_t port : *list)
      out.ports.push_back({rediacc.network_id, rediacc.service_name, proto, port, rediacc.service_ip});
  return out;
}

}  // namespace portier::discovery
