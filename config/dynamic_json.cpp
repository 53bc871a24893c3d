#include "config/dynamic_json.hpp"

#include <yaml-cpp/yaml.h>

#include "config/dynamic_schema.hpp"

namespace portier::config {

using nlohmann::json;

namespace {

// Maps a reference to the name written out (traefik_json: export_name for defined names).
using RefMap = std::function<std::string(const std::string& name, Ref kind)>;

const RefMap& identity_refs() {
  static const RefMap same = [](const std::string& name, Ref) { return name; };
  return same;
}

template <class T, class D>
json write(const T& x, D describer, const RefMap& refs);

// The schema visitor that writes Traefik's form (config/dynamic_schema.hpp): a field is
// written when it differs from its value in `defaults` (the same type written default-
// constructed), or always with kAlways or when there are no defaults.
class JsonFields {
 public:
  JsonFields(json& out, const json* defaults, const RefMap& refs)
      : out_(out), defaults_(defaults), refs_(refs) {}

  template <class M>
  void field(std::string_view key, const M& value, const Opt& o = {}) {
    put(key, to_json(value, o), o);
  }
  template <class T, class D = Describe>
  void object(std::string_view key, const std::optional<T>& value, D describer = {}) {
    if (value) out_[std::string(key)] = write(*value, describer, refs_);
  }
  template <class T, class D = Describe>
  void items(std::string_view key, const std::vector<T>& values, const Opt& o = {},
             D describer = {}) {
    json list = json::array();
    for (const T& v : values) list.push_back(write(v, describer, refs_));
    put(key, std::move(list), o);
  }
  template <class Fn>
  void group(std::string_view key, Fn fn) {
    json sub = json::object();
    const json* sub_defaults = nullptr;
    if (defaults_)
      if (auto it = defaults_->find(std::string(key)); it != defaults_->end()) sub_defaults = &*it;
    JsonFields g(sub, sub_defaults, refs_);
    fn(g);
    if (!sub.empty()) out_[std::string(key)] = std::move(sub);
  }
  void unsupported(std::string_view, std::string_view = {}) {}
  void unsupported_unless_false(std::string_view, std::string_view) {}
  void fixed(std::string_view, std::string_view) {}
  template <class Fn>
  void invariant(Fn) {}
  bool has(std::string_view) const { return true; }

 private:
  void put(std::string_view key, json value, const Opt& o) {
    const std::string k(key);
    if (defaults_ && !(o.flags & kAlways))
      if (auto it = defaults_->find(k); it != defaults_->end() && *it == value) return;
    out_[k] = std::move(value);
  }
  json to_json(const std::string& v, const Opt& o) const {
    return o.ref == Ref::none ? v : refs_(v, o.ref);
  }
  json to_json(const std::vector<std::string>& v, const Opt& o) const {
    json list = json::array();
    for (const auto& s : v) list.push_back(to_json(s, o));
    return list;
  }
  json to_json(Millis v, const Opt&) const { return format_duration(v); }
  template <class M>
  json to_json(const M& v, const Opt&) const {
    return v;
  }

  json& out_;
  const json* defaults_;
  const RefMap& refs_;
};

// `x` in Traefik's form, fields equal to a default-constructed T's omitted. The schema's
// describe() takes a mutable object; this visitor only reads it.
template <class T, class D>
json write(const T& x, D describer, const RefMap& refs) {
  static const json defaults = [] {
    json j = json::object();
    T def{};
    JsonFields all(j, nullptr, identity_refs());
    D{}(def, all);
    return j;
  }();
  json j = json::object();
  JsonFields f(j, &defaults, refs);
  describer(const_cast<T&>(x), f);
  return j;
}

// routes.json shows no password hash (Traefik: basicAuth and digestAuth users are
// loggable:false) and no inline private key (forwardAuth's tls.key); the Traefik export
// (/dynamic.yml) keeps them for the Traefik that reads it.
void redact_secrets(json& middleware) {
  for (const char* type : {"basicAuth", "digestAuth"}) {
    auto it = middleware.find(type);
    if (it == middleware.end() || !it->contains("users")) continue;
    bool digest = std::string_view(type) == "digestAuth";
    for (auto& user : (*it)["users"]) {
      std::string u = user.get<std::string>();
      size_t colon = u.find(':');
      if (digest && colon != std::string::npos && u.find(':', colon + 1) != std::string::npos)
        colon = u.find(':', colon + 1);  // digestAuth keeps name:realm
      user = u.substr(0, colon) + ":<redacted>";
    }
  }
  auto fa = middleware.find("forwardAuth");
  if (fa != middleware.end() && fa->contains("tls") && (*fa)["tls"].contains("key") &&
      (*fa)["tls"]["key"].get<std::string>().find("-----BEGIN") != std::string::npos)
    (*fa)["tls"]["key"] = "<redacted>";
}

// {"<type>": {...}} as Traefik writes a middleware.
template <class M>  // Middleware or TcpMiddleware
json middleware_json(const M& m, const RefMap& refs) {
  json body = std::visit([&](const auto& spec) { return write(spec, Describe{}, refs); }, m.spec);
  return json{{middleware_type(m.spec), body}};
}

// ---- YAML emission -------------------------------------------------------------------------

void emit(YAML::Emitter& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      return;
    case json::value_t::array:
      if (j.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : j) emit(out, item);
      out << YAML::EndSeq;
      return;
    case json::value_t::string:
      out << YAML::DoubleQuoted << j.get<std::string>();
      return;
    case json::value_t::boolean:
      out << j.get<bool>();
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      out << j.get<int64_t>();
      return;
    case json::value_t::number_float:
      out << j.get<double>();
      return;
    default:
      out << YAML::Null;
  }
}

// ---- routes.json pieces --------------------------------------------------------------------

template <class Router>
json router_json(const Router& r, const std::string& kind) {
  json j;
  if constexpr (!std::is_same_v<Router, UdpRouter>) j["rule"] = r.rule;
  j["entryPoints"] = r.entry_points;
  j["service"] = r.service;
  if constexpr (std::is_same_v<Router, HttpRouter>) j["middlewares"] = r.middlewares;
  if constexpr (std::is_same_v<Router, TcpRouter>)
    if (!r.middlewares.empty()) j["middlewares"] = r.middlewares;
  if constexpr (!std::is_same_v<Router, UdpRouter>) {
    if (r.tls)
      j["tls"] = kind == "tcp" ? write(*r.tls, DescribeRouterTls<true>{}, identity_refs())
                               : write(*r.tls, DescribeRouterTls<false>{}, identity_refs());
    j["priority"] = r.priority != 0 ? r.priority : static_cast<int>(r.rule.size());  // effective: default = rule length
  }
  j["provider"] = r.provider;
  j["status"] = "enabled";
  return j;
}

json disabled_router_json(const DisabledRouter& d) {
  json j = std::visit([&](const auto& r) { return router_json(r, d.kind); }, d.router);
  j["status"] = "disabled";
  j["error"] = d.error;
  return j;
}

void add_health(json& servers, const std::string& service, const char* key,
                const ServerHealth& health) {
  if (!health) return;
  for (auto& s : servers)
    if (auto h = health(service, s[key].get<std::string>())) s["healthy"] = *h;
}

json error_json(const ConfigError& e) {
  json j{
      {"provider", e.provider}, {"source", e.source}, {"label", e.label}, {"message", e.message}};
  if (e.line > 0) j["line"] = e.line;
  return j;
}

}  // namespace

std::string export_name(const std::string& name) {
  std::string r = name;
  for (char& c : r)
    if (c == '@') c = '-';
  return r;
}

json traefik_json(const Dynamic& d) {
  // A reference to a name defined here is exported like the name; others (built-ins such as
  // "api@internal") stay as written.
  const RefMap refs = [&d](const std::string& n, Ref kind) {
    auto defined = [&](const auto& section) { return section.count(n) ? export_name(n) : n; };
    switch (kind) {
      case Ref::http_service: return defined(d.http.services);
      case Ref::http_middleware: return defined(d.http.middlewares);
      case Ref::servers_transport: return defined(d.http.servers_transports);
      case Ref::tls_options: return defined(d.tls.options);
      case Ref::tcp_service: return defined(d.tcp.services);
      case Ref::tcp_middleware: return defined(d.tcp.middlewares);
      case Ref::tcp_servers_transport: return defined(d.tcp.servers_transports);
      case Ref::udp_service: return defined(d.udp.services);
      case Ref::none: break;
    }
    return n;
  };
  json http = json::object(), tcp = json::object(), udp = json::object(), tls = json::object();
  auto section = [&](json& out, const char* key, const auto& items, auto write_item) {
    for (const auto& [n, item] : items) out[key][export_name(n)] = write_item(item);
  };
  auto schema = [&](const auto& item) { return write(item, Describe{}, refs); };
  section(http, "routers", d.http.routers, schema);
  section(http, "services", d.http.services, schema);
  section(http, "middlewares", d.http.middlewares,
          [&](const Middleware& m) { return middleware_json(m, refs); });
  section(http, "serversTransports", d.http.servers_transports, schema);
  section(tcp, "routers", d.tcp.routers, schema);
  section(tcp, "services", d.tcp.services, schema);
  section(tcp, "middlewares", d.tcp.middlewares,
          [&](const TcpMiddleware& m) { return middleware_json(m, refs); });
  section(tcp, "serversTransports", d.tcp.servers_transports, schema);
  section(udp, "routers", d.udp.routers, schema);
  section(udp, "services", d.udp.services, schema);
  for (const auto& c : d.tls.certificates)
    tls["certificates"].push_back(write(c, DescribeCertificate<true>{}, refs));
  section(tls, "options", d.tls.options, schema);
  for (const auto& [n, s] : d.tls.stores) tls["stores"][n] = schema(s);  // store names as written
  json out = json::object();
  if (!http.empty()) out["http"] = http;
  if (!tcp.empty()) out["tcp"] = tcp;
  if (!udp.empty()) out["udp"] = udp;
  if (!tls.empty()) out["tls"] = tls;
  return out;
}

std::string dynamic_yaml(const Dynamic& d) {
  const json j = traefik_json(d);
  if (j.empty()) return "{}\n";
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

json routes_json(const Merged& m, const ServerHealth& health) {
  const Dynamic& d = m.dynamic;
  json http{
      {"routers", json::object()}, {"services", json::object()}, {"middlewares", json::object()}};
  json tcp{{"routers", json::object()}, {"services", json::object()}, {"middlewares", json::object()}};
  json udp{{"routers", json::object()}, {"services", json::object()}};
  for (const auto& [n, r] : d.http.routers) http["routers"][n] = router_json(r, "http");
  for (const auto& [n, r] : d.tcp.routers) tcp["routers"][n] = router_json(r, "tcp");
  for (const auto& [n, r] : d.udp.routers) udp["routers"][n] = router_json(r, "udp");
  for (const auto& [n, dr] : m.disabled) {
    json& section = dr.kind == "http" ? http : dr.kind == "tcp" ? tcp : udp;
    section["routers"][n] = disabled_router_json(dr);
  }
  for (const auto& [n, s] : d.http.services) {
    // {"<type>": {...}} flattened: the type's fields and "type".
    json j = json::object();
    const json typed = write(s, Describe{}, identity_refs());
    if (!typed.empty()) {
      j = typed.begin().value();
      j["type"] = typed.begin().key();
    }
    if (s.load_balancer) add_health(j["servers"], n, "url", health);
    j["provider"] = s.provider;
    j["status"] = "enabled";
    http["services"][n] = j;
  }
  auto middlewares = [](json& section, const auto& items) {
    for (const auto& [n, mw] : items) {
      json j = middleware_json(mw, identity_refs());
      redact_secrets(j);
      j["type"] = middleware_type(mw.spec);
      j["provider"] = mw.provider;
      j["status"] = "enabled";
      section["middlewares"][n] = j;
    }
  };
  middlewares(http, d.http.middlewares);
  middlewares(tcp, d.tcp.middlewares);
  for (const auto& [n, s] : d.tcp.services) {
    json j = write(s, Describe{}, identity_refs())["loadBalancer"];
    add_health(j["servers"], n, "address", health);
    j["type"] = "loadBalancer";
    j["provider"] = s.provider;
    j["status"] = "enabled";
    tcp["services"][n] = j;
  }
  for (const auto& [n, s] : d.udp.services) {
    json j = write(s, Describe{}, identity_refs())["loadBalancer"];
    add_health(j["servers"], n, "address", health);
    j["type"] = "loadBalancer";
    j["provider"] = s.provider;
    j["status"] = "enabled";
    udp["services"][n] = j;
  }
  json errors = json::array();
  for (const auto& e : m.errors) errors.push_back(error_json(e));
  return json{{"http", http}, {"tcp", tcp}, {"udp", udp}, {"errors", errors}};
}

}  // namespace portier::config
