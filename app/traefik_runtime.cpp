// traefik_runtime(): config::routes_json()'s items in the shapes of Traefik's pkg/config/runtime.
#include <map>
#include <set>

#include "app/traefik_api.hpp"

namespace portier::app {

using nlohmann::json;

namespace {

// "name" as a qualified reference from an item of `provider` ("x" → "x@file").
std::string qualified(const std::string& name, const std::string& provider) {
  return name.find('@') == std::string::npos && !provider.empty() ? name + "@" + provider : name;
}

// Routers using each service and middleware (Traefik's usedBy), by qualified name.
struct UsedBy {
  std::map<std::string, std::set<std::string>> by;
  void add(const json& routers) {
    for (const auto& [name, r] : routers.items()) {
      const std::string provider = r.value("provider", "");
      if (r.contains("service")) by[qualified(r["service"].get<std::string>(), provider)].insert(name);
      for (const auto& m : r.value("middlewares", json::array()))
        by[qualified(m.get<std::string>(), provider)].insert(name);
    }
  }
  void set(json& item, const std::string& name) const {
    if (auto it = by.find(name); it != by.end()) item["usedBy"] = it->second;
  }
};

json router(const json& in) {
  json r = in;
  r.erase("provider");
  if (r.contains("error") && r["error"].is_string()) r["error"] = json::array({r["error"]});
  if (r.contains("entryPoints")) r["using"] = r["entryPoints"];
  return r;
}

// {"type": T, fields..., servers: [{url|address, healthy}]} → {T: {fields}, serverStatus}.
json service(const json& in, const char* server_key) {
  json fields = in;
  const std::string type = fields.value("type", "loadBalancer");
  json out{{"status", fields.value("status", "enabled")}};
  for (const char* k : {"type", "provider", "status"}) fields.erase(k);
  if (fields.contains("servers")) {
    json status = json::object();
    for (auto& s : fields["servers"]) {
      if (!s.contains(server_key)) continue;
      status[s[server_key].get<std::string>()] = s.value("healthy", true) ? "UP" : "DOWN";
      s.erase("healthy");
    }
    if (!status.empty()) out["serverStatus"] = status;
  }
  out[type] = fields;
  return out;
}

json middleware(const json& in) {
  json m = in;
  for (const char* k : {"type", "provider"}) m.erase(k);
  return m;
}

void convert(json& out, const char* key, const json& items, auto each) {
  json section = json::object();
  for (const auto& [name, item] : items.items()) section[name] = each(name, item);
  if (!section.empty()) out[key] = section;
}

}  // namespace

json traefik_runtime(const json& routes) {
  static const json empty = json::object();
  auto part = [&](const char* proto, const char* kind) -> const json& {
    if (!routes.contains(proto) || !routes[proto].contains(kind)) return empty;
    return routes[proto][kind];
  };
  UsedBy used;
  for (const char* proto : {"http", "tcp", "udp"}) used.add(part(proto, "routers"));
  json out = json::object();
  auto routers = [](const std::string&, const json& r) { return router(r); };
  auto services = [&](const char* server_key) {
    return [&used, server_key](const std::string& name, const json& s) {
      json j = service(s, server_key);
      used.set(j, name);
      return j;
    };
  };
  auto middlewares = [&](const std::string& name, const json& m) {
    json j = middleware(m);
    used.set(j, name);
    return j;
  };
  convert(out, "routers", part("http", "routers"), routers);
  convert(out, "middlewares", part("http", "middlewares"), middlewares);
  convert(out, "services", part("http", "services"), services("url"));
  convert(out, "tcpRouters", part("tcp", "routers"), routers);
  convert(out, "tcpMiddlewares", part("tcp", "middlewares"), middlewares);
  convert(out, "tcpServices", part("tcp", "services"), services("address"));
  convert(out, "udpRouters", part("udp", "routers"), routers);
  convert(out, "udpServices", part("udp", "services"), services("address"));
  return out;
}

}  // namespace portier::app
