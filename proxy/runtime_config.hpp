#pragma once
// The compiled, immutable form of a dynamic configuration that workers route with.
// Built on the control thread (compile_runtime), published through core::Snapshot, pinned
// by each request for its whole life.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/container/small_vector.hpp>

#include "config/dynamic.hpp"
#include "config/internal_services.hpp"
#include "config/static_config.hpp"
#include "proxy/middleware.hpp"
#include "proxy/rule_matcher.hpp"
#include "proxy/shared_items.hpp"
#include "proxy/sticky_cookie.hpp"
#include "proxy/upstream_transport.hpp"

namespace portier::proxy {

// Health of one server of one service, shared by every snapshot that contains it: the
// health checker (control thread) writes, workers read.
struct ServerHealth {
  std::atomic<bool> healthy{true};
};

// Keeps ServerHealth objects alive across snapshots, keyed by service and URL.
class HealthRegistry {
 public:
  std::shared_ptr<ServerHealth> get(const std::string& service, const std::string& url);
  // Drops entries that no snapshot refers to any more.
  void prune();

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ServerHealth>> entries_;
};

struct UpstreamServer {
  std::string url;
  std::string scheme;     // http, https, h2c
  std::string authority;  // "127.0.11.2:8080" (Host header when passHostHeader=false)
  std::string path_prefix;  // path of the server URL ("" or "/base")
  boost::asio::ip::tcp::endpoint endpoint;
  std::string pool_key;  // identifies reusable connections (scheme, TLS name and transport)
  std::string tls_name;  // https: SNI and verified name (serverName, else the URL host)
  bool tls_name_is_ip = false;  // an IP literal: no SNI, the certificate's IP SAN is checked
  std::shared_ptr<const UpstreamTransport> transport;  // the service's serversTransport
  StickyTarget sticky;  // the sticky cookie values naming this server (its URL)
  int weight = 1;
  std::shared_ptr<ServerHealth> health;
};

// Traefik's service types. Only a load balancer has servers; the others choose among other
// services (proxy/service_choice.hpp).
enum class ServiceKind : uint8_t { load_balancer, weighted, mirroring, failover };

struct ServiceMirror {
  uint32_t service = 0;  // index in RuntimeConfig::services
  int percent = 0;
};

struct ServiceRuntime {
  std::string name;
  config::InternalService internal = config::InternalService::none;  // no servers when set
  ServiceKind kind = ServiceKind::load_balancer;
  std::vector<UpstreamServer> servers;
  // Smooth weighted round-robin order of server indices (load balancer) or of `children`
  // positions (weighted).
  std::vector<uint32_t> schedule;
  bool pass_host_header = true;
  std::optional<config::StickyCookie> sticky;  // name filled in (load balancer or weighted)
  std::optional<config::HealthCheck> health_check;
  // ---- services of services: indices in RuntimeConfig::services ----
  // weighted: the children of positive weight; mirroring: {main}; failover: {main, fallback}.
  std::vector<uint32_t> children;
  std::vector<StickyTarget> child_cookies;  // weighted with sticky: the values naming each child
  std::vector<ServiceMirror> mirrors;      // mirroring
  bool mirror_body = true;                 // mirroring
  int64_t max_body_size = -1;              // mirroring; -1 = unlimited
  bool follows_health = false;             // `healthCheck: {}` on weighted/mirroring/failover
};

// A router's middlewares on an entrypoint that has http.middlewares: the entrypoint's first,
// then the router's (Traefik's order), and the body limits of all of them.
struct EntryChain {
  std::vector<MiddlewarePtr> chain;
  BodyLimits limits;
};

struct RouteRuntime {
  std::string name;
  int priority = 0;
  HttpMatcher matcher;
  bool host_only = false;
  uint32_t service = 0;
  std::vector<MiddlewarePtr> chain;  // middlewares in order, chains flattened
  BodyLimits limits;                 // from buffering middlewares
  bool tls = false;
  // By entrypoint position: null where the entrypoint has no middlewares of its own (then
  // `chain` and `limits` apply); empty when none of the router's entrypoints has any.
  std::vector<std::shared_ptr<const EntryChain>> entry_chains;
  const EntryChain* entry_chain(size_t entry_point) const {
    return entry_point < entry_chains.size() ? entry_chains[entry_point].get() : nullptr;
  }
};

// Routers of one entrypoint and side (cleartext or TLS). Route indices refer to
// RuntimeConfig::routes, which is sorted by precedence, so a lower index wins.
using HostNames = std::shared_ptr<const std::vector<std::string>>;

struct RouteTable {
  // Keys point into RuntimeConfig::host_names. Most hosts have one or two routes: inline.
  using HostRoutes = boost::container::small_vector<uint32_t, 2>;  // ascending route indices
  std::unordered_map<std::string_view, HostRoutes> by_host;
  std::vector<uint32_t> general;
  bool empty() const { return by_host.empty() && general.empty(); }
};

struct RuntimeConfig {
  std::vector<RouteRuntime> routes;
  SharedItems<ServiceRuntime> services;  // shared with earlier snapshots when unchanged
  // Indexed by entrypoint position in the static config (see entry_point_index).
  std::vector<RouteTable> plain;
  std::vector<RouteTable> secure;
  std::vector<HostNames> host_names;  // owns the names RouteTable::by_host keys point to
  uint64_t generation = 0;

  // The winning route for a request, or nullptr (404).
  const RouteRuntime* route(size_t entry_point, bool tls, const RequestView& req) const;
  // The index in `services` of the service named `name` (qualified), or nullopt. A scan: for
  // the slow paths (an error page), not per request.
  std::optional<uint32_t> service_index(std::string_view name) const;
  // Whether an HTTPS router on the entrypoint names `sni` in a Host rule (shared TCP dispatch).
  bool serves_sni(size_t entry_point, std::string_view sni) const;
};

// Entrypoint names in a fixed order (position = the index workers use).
std::vector<std::string> http_entry_point_names(const config::StaticConfig& cfg);

// What compile_runtime keeps between calls so that a reload recompiles only what changed:
// compiled rules by rule text, and compiled services by name while their configuration and
// transport are unchanged (only services whose servers are IP literals: names are resolved
// again on every compile). Entries the last compile did not use are dropped. Control thread
// only; one cache per HealthRegistry.
class CompileCache {
 public:
  struct Rule {
    std::optional<HttpMatcher> matcher;  // nullopt: `error` says why
    std::string error;
    HostNames hosts;  // host_only_names, null when the rule is not Host-only
    uint64_t used = 0;
  };
  struct Service {
    config::HttpService input;
    const UpstreamTransport* transport = nullptr;
    std::shared_ptr<const ServiceRuntime> compiled;
    std::vector<std::string> problems;
    uint64_t used = 0;
  };
  std::unordered_map<std::string, Rule> rules;
  std::unordered_map<std::string, Service> services;
  uint64_t generation = 0;
};

// Compiles a merged (qualified, validated) dynamic configuration. Routers whose rule fails to
// compile are skipped and reported in *problems as "router NAME: message". With `cache`, the
// result is the same as without it, computed faster when little changed.
std::shared_ptr<RuntimeConfig> compile_runtime(const config::Dynamic& dyn, const config::StaticConfig& cfg,
                                               HealthRegistry& health, std::vector<std::string>* problems,
                                               CompileCache* cache = nullptr);

// Lowercases and strips the port and a trailing dot: "Example.COM.:8080" -> "example.com".
std::string normalize_host(std::string_view host);

}  // namespace portier::proxy
