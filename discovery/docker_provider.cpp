#include "discovery/docker_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <glob.h>
#include <sys/stat.h>

#include "core/log.hpp"
#include "discovery/auto_routes.hpp"
#include "discovery/fragment_merge.hpp"

namespace portier::discovery {

namespace asio = boost::asio;
using asio::awaitable;
using Steady = std::chrono::steady_clock;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

struct DockerProvider::Daemon {
  Daemon(asio::any_io_executor ex, const std::string& ep, core::HttpClientOptions http)
      : endpoint(ep), client(ex, ep, http), wake(ex), relist_timer(ex) {}
  std::string endpoint;
  DockerClient client;
  std::map<std::string, ContainerInfo> containers;  // by id
  std::map<std::string, uint64_t> seq;              // per container: events seen
  std::map<std::string, Steady::time_point> stopping;  // kill/stop seen, not yet dead
  bool connected = false;
  bool removed = false;
  std::optional<Steady::time_point> lost_since;
  std::string last_error;
  std::size_t routed = 0, label_errors = 0;  // EndpointStatus
  uint64_t events = 0;
  core::StreamCanceller canceller;
  asio::steady_timer wake;
  asio::steady_timer relist_timer;  // one relist loop per connection epoch
  uint64_t epoch = 0;
};

namespace {

bool has_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool is_socket(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::string socket_path(const std::string& endpoint) {
  return endpoint.rfind("unix://", 0) == 0 ? endpoint.substr(7) : std::string();
}

// Signals that ask a process to reload rather than to stop: a kill event with one of these
// does not take the container out of rotation.
bool is_reload_signal(const std::string& s) {
  return s == "1" || s == "10" || s == "12" || s == "SIGHUP" || s == "SIGUSR1" || s == "SIGUSR2" ||
         s == "HUP" || s == "USR1" || s == "USR2";
}

const auto kStoppingMemory = std::chrono::minutes(10);

}  // namespace

DockerProviderOptions make_docker_options(const config::StaticConfig& config) {
  DockerProviderOptions o;
  const auto& docker = *config.docker;
  o.endpoints = docker.endpoints;
  if (o.endpoints.empty())
    o.endpoints = {"unix:///var/run/rediacc/docker-*.sock", "unix:///run/rediacc/docker-*.sock"};
  o.grace = docker.grace_period;
  o.decode.exposed_by_default = docker.exposed_by_default;
  o.decode.default_rule = docker.default_rule;
  o.decode.network = docker.network;
  o.decode.use_bind_port_ip = docker.use_bind_port_ip;
  o.decode.allow_empty_services = docker.allow_empty_services;
  if (auto e = ConstraintMatcher::compile(docker.constraints, o.decode.constraints); !e.empty())
    core::log_error("docker: constraints: ", e);  // the loader refused it already
  o.watch = docker.watch;
  if (docker.http_client_timeout) {
    // 0: no deadline, as in Traefik (ten years stands for "never" without overflow).
    auto t = docker.http_client_timeout->count() == 0 ? std::chrono::hours(24 * 3650) : *docker.http_client_timeout;
    o.http.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t);
    o.http.connect_timeout = std::min(o.http.connect_timeout, o.http.request_timeout);
  }
  if (const auto& tls = docker.tls) {
    o.http.tls_over_tcp = true;
    if (!tls->ca.empty()) o.http.extra_ca_files = {tls->ca}, o.http.system_roots = false;
    o.http.client_cert_file = tls->cert;
    o.http.client_key_file = tls->key;
    o.http.insecure_skip_verify = tls->insecure_skip_verify;
  }
  o.decode.base_domain = config.infra.base_domain;
  for (const auto& [name, ep] : config.entry_points) o.decode.entry_points.insert(name);
  for (const auto& [name, r] : config.cert_resolvers) o.decode.cert_resolvers.insert(name);
  o.ports_file = config.state_directory + "/ports.json";
  o.dynamic_first = config.infra.dynamic_tcp_first;
  o.dynamic_last = config.infra.dynamic_tcp_last;
  return o;
}

DockerProvider::DockerProvider(asio::any_io_executor executor, DockerProviderOptions options, OnChange on_change,
                               PortAllocator::Clock clock)
    : executor_(executor),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      ports_alloc_(options_.ports_file, options_.dynamic_first, options_.dynamic_last, options_.grace, std::move(clock)),
      scan_timer_(executor),
      tasks_(executor, "docker") {
}

DockerProvider::~DockerProvider() { stop(); }

void DockerProvider::start() {
  if (!options_.ports_file.empty())
    if (auto e = ports_alloc_.load(); !e.empty()) core::log_error("docker: ports: ", e);
  scan();
  recompute();
  tasks_.spawn(scan_loop(), "endpoint scan");
}

void DockerProvider::stop() {
  stopped_ = true;
  tasks_.cancel();
  scan_timer_.cancel();
  for (auto& [ep, d] : daemons_) {
    d->removed = true;
    d->canceller.cancel();
    d->wake.cancel();
    d->relist_timer.cancel();
  }
}

std::vector<std::string> DockerProvider::expand_endpoints(const std::vector<std::string>& patterns) {
  std::set<std::string> out;
  for (const auto& p : patterns) {
    std::string path = socket_path(p);
    if (path.empty() || !has_glob(path)) {
      out.insert(p);
      continue;
    }
    glob_t g{};
    if (::glob(path.c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i)
        if (is_socket(g.gl_pathv[i])) out.insert("unix://" + std::string(g.gl_pathv[i]));
    globfree(&g);
  }
  return {out.begin(), out.end()};
}

std::vector<EndpointStatus> DockerProvider::status() const {
  std::vector<EndpointStatus> out;
  for (const auto& [ep, d] : daemons_) {
    out.push_back({ep, !d->connected ? "reconnecting" : options_.watch ? "connected" : "read", d->containers.size(),
                   d->routed, d->label_errors, d->events, {}});
    for (const auto& [id, c] : d->containers) out.back().listed.push_back(c);
  }
  return out;
}

void DockerProvider::scan() {
  auto found = expand_endpoints(options_.endpoints);
  std::set<std::string> present(found.begin(), found.end());
  for (const auto& ep : found) {
    auto it = daemons_.find(ep);
    if (it == daemons_.end()) {
      auto d = std::make_shared<Daemon>(executor_, ep, options_.http);
      daemons_[ep] = d;
      core::log_info("docker: following ", ep);
      tasks_.spawn(run_daemon(d), "daemon " + ep);
    } else if (!it->second->connected) {
      it->second->wake.cancel();  // the socket is there: retry now rather than after backoff
    }
  }
  for (auto& [ep, d] : daemons_)
    if (!present.count(ep) && !d->lost_since) d->lost_since = Steady::now();
}

void DockerProvider::expire_lost() {
  bool changed = false;
  auto now = Steady::now();
  for (auto it = daemons_.begin(); it != daemons_.end();) {
    auto& d = it->second;
    bool expired = !d->connected && d->lost_since && now - *d->lost_since > options_.grace;
    if (expired && !d->containers.empty()) {
      core::log_warn("docker: ", d->endpoint, " unreachable for longer than the grace period; dropping its ",
                     d->containers.size(), " containers");
      d->containers.clear();
      changed = true;
    }
    bool socket_gone = !socket_path(d->endpoint).empty() && !is_socket(socket_path(d->endpoint));
    if (expired && socket_gone) {
      core::log_info("docker: ", d->endpoint, " vanished; no longer followed");
      d->removed = true;
      d->canceller.cancel();
      d->wake.cancel();
      d->relist_timer.cancel();
      it = daemons_.erase(it);
      changed = true;
      continue;
    }
    ++it;
  }
  if (changed) recompute();
}

awaitable<void> DockerProvider::scan_loop() {
  while (!stopped_) {
    scan_timer_.expires_after(options_.rescan_interval);
    co_await scan_timer_.async_wait(tok);
    if (stopped_) co_return;
    scan();
    expire_lost();
  }
}

awaitable<void> DockerProvider::run_daemon(DaemonPtr d) {
  auto backoff = options_.backoff_initial;
  while (!stopped_ && !d->removed) {
    int64_t since = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count() - 1;
    bool listed = co_await relist(d);
    if (stopped_ || d->removed) co_return;
    if (listed && !options_.watch) {
      d->connected = true;
      d->lost_since.reset();
      core::log_info("docker: read ", d->endpoint, " once (", d->containers.size(), " containers; watch: false)");
      recompute();
      co_return;
    }
    if (listed) {
      backoff = options_.backoff_initial;
      d->connected = true;
      d->lost_since.reset();
      uint64_t epoch = ++d->epoch;
      core::log_info("docker: connected to ", d->endpoint, " (", d->containers.size(), " containers)");
      recompute();
      tasks_.spawn(relist_loop(d, epoch), "relist " + d->endpoint);
      // Named, not written inside the co_await expression: GCC 12 destroys a lambda temporary
      // of a co_await expression twice, which released `d` (and the old alive flag) once too
      // often and freed them under other frames (issue 21; tests/lint checks the pattern).
      std::function<void(const DockerEvent&)> on_event = [this, d, epoch](const DockerEvent& e) {
        ++d->events;
        tasks_.spawn(apply_event(d, e, epoch), "event " + e.action);
      };
      std::string why = co_await d->client.events(std::move(on_event), &d->canceller, since);
      if (stopped_ || d->removed) co_return;
      ++d->epoch;
      d->relist_timer.cancel();
      d->connected = false;
      d->lost_since = Steady::now();
      core::log_warn("docker: lost ", d->endpoint, " (", why, "); keeping its routes for the grace period");
    } else if (!d->lost_since) {
      d->lost_since = Steady::now();
    }
    d->wake.expires_after(backoff);
    co_await d->wake.async_wait(tok);
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

awaitable<void> DockerProvider::relist_loop(DaemonPtr d, uint64_t epoch) {
  while (true) {
    d->relist_timer.expires_after(options_.relist_interval);
    co_await d->relist_timer.async_wait(tok);
    if (stopped_ || d->removed || d->epoch != epoch) co_return;
    bool listed = co_await relist(d);  // (GCC 12 miscompiles co_await inside && or ||)
    if (listed && !stopped_) recompute();
  }
}

awaitable<bool> DockerProvider::relist(DaemonPtr d) {
  auto seq_before = d->seq;
  auto ids = co_await d->client.list_container_ids();
  if (stopped_) co_return false;
  if (!ids.ok()) {
    if (ids.error != d->last_error) core::log_warn("docker: ", d->endpoint, ": ", ids.error);
    d->last_error = ids.error;
    co_return false;
  }
  std::map<std::string, ContainerInfo> fresh;
  for (const auto& id : ids.value) {
    auto info = co_await d->client.inspect(id);
    if (stopped_) co_return false;
    if (info.not_found) continue;
    if (!info.ok()) {
      d->last_error = info.error;
      core::log_warn("docker: ", d->endpoint, ": ", info.error);
      co_return false;
    }
    fresh[id] = std::move(info.value);
  }
  d->last_error.clear();
  // Containers that saw events while we listed keep what the events said.
  for (const auto& [id, n] : d->seq) {
    auto before = seq_before.find(id);
    if (before != seq_before.end() && before->second == n) continue;
    if (auto cur = d->containers.find(id); cur != d->containers.end()) fresh[id] = cur->second;
    else fresh.erase(id);
  }
  auto now = Steady::now();
  for (auto it = d->stopping.begin(); it != d->stopping.end();)
    it = (now - it->second > kStoppingMemory || !fresh.count(it->first)) ? d->stopping.erase(it) : std::next(it);
  for (const auto& [id, t] : d->stopping) fresh.erase(id);
  d->containers = std::move(fresh);
  co_return true;
}

awaitable<void> DockerProvider::apply_event(DaemonPtr d, DockerEvent e, uint64_t epoch) {
  const std::string& a = e.action;
  uint64_t n = ++d->seq[e.id];
  bool gone = a == "die" || a == "destroy" || a == "pause" || a == "oom" || a == "stop" ||
              (a == "kill" && !is_reload_signal(e.attributes["signal"]));
  if (gone) {
    if (a == "kill" || a == "stop") d->stopping[e.id] = Steady::now();
    if (a == "die" || a == "destroy") d->stopping.erase(e.id);
    if (a == "destroy") d->seq.erase(e.id);
    if (d->containers.erase(e.id)) {
      core::log_info("docker: ", e.name, " on ", d->endpoint, ": ", a, ", out of rotation");
      recompute();
    }
    co_return;
  }
  bool refresh = a == "start" || a == "unpause" || a == "restart" || a == "rename" || a == "update" ||
                 a.rfind("health_status", 0) == 0;
  if (!refresh) co_return;
  if (a == "start" || a == "unpause" || a == "restart") d->stopping.erase(e.id);
  auto info = co_await d->client.inspect(e.id);
  if (stopped_ || d->epoch != epoch || d->seq[e.id] != n) co_return;  // stopped or superseded
  if (!info.ok()) {
    if (info.not_found && d->containers.erase(e.id)) recompute();
    co_return;
  }
  if (d->stopping.count(e.id)) co_return;
  if (info.value.state != "running") {
    if (d->containers.erase(e.id)) recompute();
    co_return;
  }
  auto& slot = d->containers[e.id];
  if (slot == info.value) co_return;
  slot = std::move(info.value);
  recompute();
}

void DockerProvider::note_skipped(std::vector<config::ConfigError> skipped) {
  std::set<std::string> current;
  for (const auto& e : skipped) {
    std::string key = e.source + "\n" + e.message;
    if (!logged_skipped_.count(key)) core::log_info("docker: ", e.source, ": left out, ", e.message);
    current.insert(key);
  }
  logged_skipped_ = std::move(current);
  skipped_ = std::move(skipped);
}

void DockerProvider::recompute() {
  std::vector<SourcedDynamic> inputs;
  std::vector<config::ConfigError> errors;
  std::vector<PortRequest> requests;
  std::map<PortKey, std::string> request_source;
  std::vector<config::ConfigError> skipped;
  for (const auto& [ep, d] : daemons_) {
    std::vector<const ContainerInfo*> sorted;
    for (const auto& [id, c] : d->containers) sorted.push_back(&c);
    std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) { return x->name < y->name; });
    d->routed = d->label_errors = 0;
    for (const auto* c : sorted) {
      auto f = decode_container(*c, options_.decode);
      d->label_errors += f.errors.empty() ? 0 : 1;
      errors.insert(errors.end(), f.errors.begin(), f.errors.end());
      if (!f.skipped.empty()) skipped.push_back({"docker", container_source(*c), "", f.skipped});
      for (const auto& r : f.ports) {
        requests.push_back(r);
        request_source.emplace(PortKey::of(r), container_source(*c));
      }
      bool configures = !f.dynamic.http.routers.empty() || !f.dynamic.http.services.empty() ||
                        !f.dynamic.tcp.routers.empty() || !f.dynamic.tcp.services.empty() ||
                        !f.dynamic.udp.routers.empty() || !f.dynamic.udp.services.empty() ||
                        !f.dynamic.http.middlewares.empty();
      d->routed += configures || !f.ports.empty() ? 1 : 0;
      if (configures) inputs.push_back({container_source(*c), std::move(f.dynamic)});
    }
  }
  auto sync = ports_alloc_.sync(requests);
  PortsView view;
  for (const auto& [r, external] : sync.assigned) {
    SourcedDynamic port_route{request_source[PortKey::of(r)], {}};
    add_port_route(r, external, port_route.dynamic);
    inputs.push_back(std::move(port_route));
    std::string target = (r.service_ip.find(':') != std::string::npos ? "[" + r.service_ip + "]" : r.service_ip) +
                         ":" + std::to_string(r.port);
    (r.proto == "udp" ? view.udp : view.tcp).push_back({external, r.service, r.network_id, target});
  }
  for (auto* list : {&view.tcp, &view.udp})
    std::sort(list->begin(), list->end(), [](const auto& x, const auto& y) { return x.port < y.port; });
  for (const auto& [r, message] : sync.failed)
    errors.push_back({"docker", request_source[PortKey::of(r)], "rediacc." + r.proto + "_ports",
                      message + " (port " + std::to_string(r.port) + ")"});
  auto merged = merge_fragments(inputs, std::move(errors));
  std::set<std::string> current;
  for (const auto& e : merged.errors) {
    std::string key = e.source + "\n" + e.label + "\n" + e.message;
    if (!logged_errors_.count(key))
      core::log_warn("docker: ", e.source, ": ", e.label.empty() ? "" : e.label + ": ", e.message);
    current.insert(key);
  }
  logged_errors_ = std::move(current);
  note_skipped(std::move(skipped));
  if (last_ && *last_ == merged && ports_ == view) return;
  last_ = merged;
  fragment_ = std::move(merged);
  ports_ = std::move(view);
  if (on_change_) on_change_(fragment_, ports_);
}

}  // namespace portier::discovery
