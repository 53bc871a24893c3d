#include "proxy/runtime_config.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "config/dynamic_merge.hpp"
#include "config/rule.hpp"
#include "proxy/server_address.hpp"
#include "proxy/weighted_schedule.hpp"

namespace portier::proxy {
namespace {

// The transports services use, built once per compile (with a TLS context when an https
// server uses them). Unknown names (validation reports them) and default@internal get the
// default transport: the static `serversTransport`, else Traefik's defaults.
class Transports {
 public:
  Transports(const config::Dynamic& dyn, const config::StaticConfig& cfg, std::vector<std::string>* problems)
      : dyn_(dyn), default_(cfg.servers_transport.value_or(config::ServersTransport{})), problems_(problems) {
    for (const auto& [name, svc] : dyn.http.services) {
      if (!svc.load_balancer) continue;
      for (const auto& server : svc.load_balancer->servers)
        if (server.url.rfind("https://", 0) == 0) tls_[known(svc.load_balancer->servers_transport)] = true;
    }
  }
  std::shared_ptr<const UpstreamTransport> get(const std::string& wanted) {
    std::string name = known(wanted);
    auto& slot = built_[name];
    if (!slot) {
      auto it = dyn_.http.servers_transports.find(name);
      slot = make_upstream_transport(name, it == dyn_.http.servers_transports.end() ? default_ : it->second,
                                     tls_.count(name) > 0, problems_);
    }
    return slot;
  }

 private:
  std::string known(const std::string& name) const {
    return dyn_.http.servers_transports.count(name) ? name : std::string();
  }
  const config::Dynamic& dyn_;
  const config::ServersTransport default_;
  std::vector<std::string>* problems_;
  std::map<std::string, bool> tls_;
  std::map<std::string, std::shared_ptr<const UpstreamTransport>> built_;
};

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::optional<config::StickyCookie> sticky_of(const std::string& service,
                                              const std::optional<config::StickyCookie>& cookie) {
  std::optional<config::StickyCookie> out = cookie;
  if (out) out->name = sticky_cookie_name(out->name, service);
  return out;
}

using ServiceIndex = std::unordered_map<std::string_view, uint32_t>;

// A weighted, mirroring or failover service: references to other services by index. The
// merge validated them (they exist, no cycle), so every name is in `index`.
ServiceRuntime compile_composite(const std::string& name, const config::HttpService& svc,
                                 const ServiceIndex& index) {
  ServiceRuntime out;
  out.name = name;
  if (const auto& w = svc.weighted) {
    out.kind = ServiceKind::weighted;
    out.sticky = sticky_of(name, w->sticky_cookie);
    out.follows_health = w->health_check.has_value();
    std::vector<int> weights;
    for (const auto& ref : w->services) {
      if (ref.weight <= 0) continue;  // never chosen, as in Traefik
      out.children.push_back(index.at(ref.name));
      out.child_cookies.emplace_back(ref.name);
      weights.push_back(ref.weight);
    }
    out.schedule = weighted_schedule(weights);
  } else if (const auto& m = svc.mirroring) {
    out.kind = ServiceKind::mirroring;
    out.children = {index.at(m->service)};
    for (const auto& mirror : m->mirrors) out.mirrors.push_back({index.at(mirror.name), mirror.percent});
    out.mirror_body = m->mirror_body;
    out.max_body_size = m->max_body_size;
    out.follows_health = m->health_check.has_value();
  } else if (const auto& f = svc.failover) {
    out.kind = ServiceKind::failover;
    out.children = {index.at(f->service), index.at(f->fallback)};
    out.follows_health = f->health_check.has_value();
  }
  return out;
}

ServiceRuntime compile_service(const std::string& name, const config::HttpService& svc,
                               HealthRegistry& health, Transports& transports, std::vector<std::string>* problems) {
  ServiceRuntime out;
  out.name = name;
  if (!svc.load_balancer) return out;
  const auto& lb = *svc.load_balancer;
  out.pass_host_header = lb.pass_host_header;
  out.health_check = lb.health_check;
  out.sticky = sticky_of(name, lb.sticky_cookie);
  for (const auto& server : lb.servers) {
    ParsedUrl u;
    UpstreamServer s;
    if (!parse_url(server.url, u) || !resolve(u.host, u.port, s.endpoint)) {
      if (problems) problems->push_back("service " + name + ": cannot use server URL \"" + server.url + "\"");
      continue;
    }
    s.url = server.url;
    s.scheme = u.scheme;
    bool v6 = u.host.find(':') != std::string::npos;
    s.authority = (v6 ? "[" + u.host + "]" : u.host) + ":" + std::to_string(u.port);
    s.path_prefix = u.path;
    s.transport = transports.get(lb.servers_transport);
    std::string address = s.endpoint.address().to_string() + ":" + std::to_string(u.port);
    if (u.scheme == "https") {
      s.tls_name = s.transport->server_name.empty() ? u.host : s.transport->server_name;
      s.tls_name_is_ip = is_ip_literal(s.tls_name);
      // TLS connections differ by the name they verified and by the transport's settings.
      s.pool_key = "https://" + s.tls_name + "@" + address + "#" + s.transport->name + "#" +
                   std::to_string(s.transport->serial);
    } else {
      s.pool_key = u.scheme + "://" + address;
    }
    s.sticky = StickyTarget(server.url);
    s.weight = server.weight;
    s.health = health.get(name, server.url);
    out.servers.push_back(std::move(s));
  }
  std::vector<int> weights;
  for (const auto& s : out.servers) weights.push_back(s.weight);
  out.schedule = weighted_schedule(weights);
  return out;
}

CompileCache::Rule compile_rule(const std::string& text) {
  CompileCache::Rule out;
  auto parsed = config::parse_rule(text, config::RuleKind::http);
  out.error = parsed.error;
  if (parsed.root) out.matcher = compile_http_rule(*parsed.root, &out.error);
  if (out.matcher)
    if (auto hosts = host_only_names(*parsed.root))
      out.hosts = std::make_shared<const std::vector<std::string>>(std::move(*hosts));
  return out;
}

const CompileCache::Rule& cached_rule(CompileCache& cache, const std::string& text) {
  auto it = cache.rules.find(text);
  if (it == cache.rules.end()) it = cache.rules.emplace(text, compile_rule(text)).first;
  it->second.used = cache.generation;
  return it->second;
}

// Servers named by IP literal only: their compiled form depends on the configuration alone.
bool addresses_are_literal(const config::HttpService& svc) {
  if (!svc.load_balancer) return true;
  for (const auto& server : svc.load_balancer->servers) {
    ParsedUrl u;
    if (!parse_url(server.url, u) || !is_ip_literal(u.host)) return false;
  }
  return true;
}

std::shared_ptr<const ServiceRuntime> cached_service(CompileCache& cache, const std::string& name,
                                                     const config::HttpService& svc, HealthRegistry& health,
                                                     Transports& transports, std::vector<std::string>* problems) {
  const UpstreamTransport* transport =
      svc.load_balancer ? transports.get(svc.load_balancer->servers_transport).get() : nullptr;
  auto it = cache.services.find(name);
  if (it != cache.services.end() && it->second.input == svc && it->second.transport == transport) {
    it->second.used = cache.generation;
    if (problems) problems->insert(problems->end(), it->second.problems.begin(), it->second.problems.end());
    return it->second.compiled;
  }
  std::vector<std::string> found;
  auto compiled = std::make_shared<const ServiceRuntime>(compile_service(name, svc, health, transports, &found));
  if (problems) problems->insert(problems->end(), found.begin(), found.end());
  if (!addresses_are_literal(svc)) {
    if (it != cache.services.end()) cache.services.erase(it);
    return compiled;
  }
  CompileCache::Service& slot = cache.services[name];
  slot = CompileCache::Service{svc, transport, compiled, std::move(found), cache.generation};
  return compiled;
}

}  // namespace

std::shared_ptr<ServerHealth> HealthRegistry::get(const std::string& service, const std::string& url) {
  std::lock_guard lock(mutex_);
  auto& slot = entries_[service + "\n" + url];
  if (!slot) slot = std::make_shared<ServerHealth>();
  return slot;
}

void HealthRegistry::prune() {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [](const auto& kv) { return kv.second.use_count() == 1; });
}

std::string normalize_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos)
      host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string out(host);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::vector<std::string> http_entry_point_names(const config::StaticConfig& cfg) {
  std::vector<std::string> names;
  for (const auto& [name, ep] : cfg.entry_points)
    if (ep.serves_http()) names.push_back(name);
  return names;  // std::map order: sorted, stable
}

const RouteRuntime* RuntimeConfig::route(size_t entry_point, bool tls, const RequestView& req) const {
  const auto& tables = tls ? secure : plain;
  if (entry_point >= tables.size()) return nullptr;
  const RouteTable& t = tables[entry_point];
  static const RouteTable::HostRoutes kNone;
  const RouteTable::HostRoutes* hosted = &kNone;
  if (!t.by_host.empty()) {
    auto it = t.by_host.find(req.host);
    if (it != t.by_host.end()) hosted = &it->second;
  }
  // Both lists are in precedence order: walk them together, lowest index first.
  size_t i = 0, j = 0;
  while (i < hosted->size() || j < t.general.size()) {
    bool take_hosted = j >= t.general.size() || (i < hosted->size() && (*hosted)[i] < t.general[j]);
    if (take_hosted) return &routes[(*hosted)[i]];  // Host-only rules match by the index alone
    const RouteRuntime& r = routes[t.general[j++]];
    if (r.matcher.match(req)) return &r;
  }
  return nullptr;
}

bool RuntimeConfig::serves_sni(size_t entry_point, std::string_view sni) const {
  if (entry_point >= secure.size()) return false;
  return secure[entry_point].by_host.count(normalize_host(sni)) > 0;
}

namespace {

// entryPoints.NAME.http.middlewares, expanded once per entrypoint and provider: a name without
// "@provider" is resolved in the provider of the router it applies to (as Traefik does).
class EntryMiddlewares {
 public:
  EntryMiddlewares(const config::StaticConfig& cfg, const std::vector<std::string>& names,
                   const config::Dynamic& dyn)
      : names_(names), dyn_(dyn) {
    for (size_t e = 0; e < names.size(); ++e) {
      const auto& mws = cfg.entry_points.at(names[e]).middlewares;
      if (!mws.empty()) by_entry_.emplace_back(e, &mws);
    }
  }
  bool empty() const { return by_entry_.empty(); }

  // The chains of router `router` (qualified name) on its entrypoints that have middlewares:
  // theirs, then `own`. False with *error when a name does not resolve.
  bool chains_for(const std::string& router, const std::vector<std::string>& entry_points,
                  const std::vector<MiddlewarePtr>& own,
                  std::vector<std::shared_ptr<const EntryChain>>& out, std::string* error) {
    std::string_view provider;
    if (size_t at = router.rfind('@'); at != std::string::npos)
      provider = std::string_view(router).substr(at + 1);
    for (const auto& [e, mws] : by_entry_) {
      bool listed = entry_points.empty() || std::find(entry_points.begin(), entry_points.end(),
                                                      names_[e]) != entry_points.end();
      if (!listed) continue;
      auto key = names_[e] + "@" + std::string(provider);
      auto it = cache_.find(key);
      if (it == cache_.end()) {
        std::vector<std::string> qualified;
        for (const auto& m : *mws) qualified.push_back(config::qualify(m, provider));
        std::string why;
        auto chain = expand_middlewares(qualified, dyn_.http.middlewares, &why);
        if (!why.empty()) why = "entrypoint " + names_[e] + ": " + why;
        it = cache_.emplace(key, Expanded{std::move(chain), std::move(why)}).first;
      }
      if (!it->second.error.empty()) {
        *error = it->second.error;
        return false;
      }
      auto entry = std::make_shared<EntryChain>();
      entry->chain = it->second.chain;
      entry->chain.insert(entry->chain.end(), own.begin(), own.end());
      for (const auto& mw : entry->chain) mw->body_limits(entry->limits);
      if (out.empty()) out.resize(names_.size());
      out[e] = std::move(entry);
    }
    return true;
  }

 private:
  struct Expanded {
    std::vector<MiddlewarePtr> chain;
    std::string error;
  };
  const std::vector<std::string>& names_;
  const config::Dynamic& dyn_;
  std::vector<std::pair<size_t, const std::vector<std::string>*>> by_entry_;
  std::unordered_map<std::string, Expanded> cache_;  // by "entrypoint@provider"
};

// For an `@internal` service name: "" when this configuration has it, else why not.
std::string internal_service_problem(const std::string& name, const config::StaticConfig& cfg) {
  switch (config::internal_service(name)) {
    case config::InternalService::ping:
      return cfg.ping.enabled ? "" : "service \"ping@internal\" needs the static `ping` section";
    case config::InternalService::prometheus:
      return cfg.prometheus.enabled ? "" : "service \"prometheus@internal\" needs the static `metrics.prometheus` section";
    case config::InternalService::api:
      return cfg.api.enabled ? "" : "service \"api@internal\" needs the static `api` section";
    case config::InternalService::noop:
      return "";
    default:
      return config::internal_service_problem(name);
  }
}

}  // namespace

std::optional<uint32_t> RuntimeConfig::service_index(std::string_view name) const {
  for (size_t i = 0; i < services.size(); ++i)
    if (services[i].name == name) return static_cast<uint32_t>(i);
  return std::nullopt;
}

std::shared_ptr<RuntimeConfig> compile_runtime(const config::Dynamic& dyn, const config::StaticConfig& cfg,
                                               HealthRegistry& health, std::vector<std::string>* problems,
                                               CompileCache* cache) {
  auto rc = std::make_shared<RuntimeConfig>();
  ServiceIndex service_index;
  service_index.reserve(dyn.http.services.size());
  Transports transports(dyn, cfg, problems);
  if (cache) ++cache->generation;
  rc->services.reserve(dyn.http.services.size());
  for (const auto& [name, svc] : dyn.http.services)
    service_index.emplace(name, static_cast<uint32_t>(service_index.size()));
  for (const auto& [name, svc] : dyn.http.services) {
    if (!svc.load_balancer)  // indices change between compiles: never cached
      rc->services.push_back(compile_composite(name, svc, service_index));
    else if (cache)
      rc->services.push_back(cached_service(*cache, name, svc, health, transports, problems));
    else
      rc->services.push_back(compile_service(name, svc, health, transports, problems));
  }

  // A compiled router before ordering. `entry_points` points into dyn: nothing per router is
  // copied but the route itself (and the Host names' shared pointer).
  struct Pending {
    RouteRuntime route;
    HostNames hosts;
    const std::vector<std::string>* entry_points = nullptr;
  };
  auto names = http_entry_point_names(cfg);
  EntryMiddlewares entry_mws(cfg, names, dyn);
  std::vector<Pending> pending;
  pending.reserve(dyn.http.routers.size());
  CompileCache::Rule uncached;
  for (const auto& [name, router] : dyn.http.routers) {
    auto svc = service_index.find(router.service);
    if (svc == service_index.end() && config::is_internal_name(router.service)) {
      if (auto why = internal_service_problem(router.service, cfg); !why.empty()) {
        if (problems) problems->push_back("router " + name + ": " + why);
        continue;
      }
      svc = service_index.emplace(router.service, static_cast<uint32_t>(rc->services.size())).first;
      rc->services.push_back(ServiceRuntime{router.service, config::internal_service(router.service)});
    }
    if (svc == service_index.end()) {
      if (problems) problems->push_back("router " + name + ": service \"" + router.service + "\" does not exist");
      continue;
    }
    const CompileCache::Rule& rule = cache ? cached_rule(*cache, router.rule) : (uncached = compile_rule(router.rule));
    if (!rule.matcher) {
      if (problems) problems->push_back("router " + name + ": " + rule.error);
      continue;
    }
    std::string mw_error;
    auto chain = expand_middlewares(router.middlewares, dyn.http.middlewares, &mw_error);
    if (!mw_error.empty()) {
      if (problems) problems->push_back("router " + name + ": " + mw_error);
      continue;
    }
    BodyLimits limits;
    for (const auto& mw : chain) mw->body_limits(limits);
    std::vector<std::shared_ptr<const EntryChain>> entry_chains;
    if (!entry_mws.empty() &&
        !entry_mws.chains_for(name, router.entry_points, chain, entry_chains, &mw_error)) {
      if (problems) problems->push_back("router " + name + ": " + mw_error);
      continue;
    }
    Pending& p = pending.emplace_back();
    p.route = RouteRuntime{name,
                           router.priority ? router.priority : static_cast<int>(router.rule.size()),
                           *rule.matcher,
                           false,
                           svc->second,
                           std::move(chain),
                           limits,
                           router.tls.has_value(),
                           std::move(entry_chains)};
    p.entry_points = &router.entry_points;
    if (rule.hosts) {
      p.route.host_only = true;
      p.hosts = rule.hosts;
    }
  }
  // Precedence: higher priority first, then name. `pending` is in name order already (the
  // routers map's), so a stable sort by priority alone gives it without comparing names.
  // Sorting positions, not the routes.
  std::vector<uint32_t> order(pending.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return pending[a].route.priority > pending[b].route.priority;
  });

  std::vector<char> ep_tls(names.size());
  for (size_t e = 0; e < names.size(); ++e) ep_tls[e] = cfg.entry_points.at(names[e]).tls ? 1 : 0;
  rc->plain.resize(names.size());
  rc->secure.resize(names.size());
  rc->routes.reserve(pending.size());
  rc->host_names.reserve(pending.size());
  for (uint32_t idx = 0; idx < order.size(); ++idx) {
    Pending& p = pending[order[idx]];
    for (size_t e = 0; e < names.size(); ++e) {
      bool listed = p.entry_points->empty() ||
                    std::find(p.entry_points->begin(), p.entry_points->end(), names[e]) != p.entry_points->end();
      if (!listed) continue;
      bool tls = p.route.tls || ep_tls[e];
      RouteTable& table = tls ? rc->secure[e] : rc->plain[e];
      if (p.route.host_only) {
        if (table.by_host.empty()) table.by_host.reserve(pending.size() - idx);
        for (const auto& h : *p.hosts) table.by_host[h].push_back(idx);
        if (rc->host_names.empty() || rc->host_names.back() != p.hosts) rc->host_names.push_back(p.hosts);
      } else {
        table.general.push_back(idx);
      }
    }
    rc->routes.push_back(std::move(p.route));
  }
  if (cache) {
    std::erase_if(cache->rules, [&](const auto& kv) { return kv.second.used != cache->generation; });
    std::erase_if(cache->services, [&](const auto& kv) { return kv.second.used != cache->generation; });
  }
  return rc;
}

}  // namespace portier::proxy
