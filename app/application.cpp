#include "app/application.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "app/control_metrics.hpp"
#include "app/sd_notify.hpp"
#include "app/upgrade_state.hpp"
#include "app/version.hpp"
#include "config/default_entry_points.hpp"
#include "config/dynamic_json.hpp"
#include "config/dynamic_merge.hpp"
#include "config/entry_point_model.hpp"
#include "config/rule.hpp"
#include "core/log.hpp"
#include "proxy/http_errors.hpp"

namespace portier::app {
namespace {

int worker_count(const config::StaticConfig& cfg) {
  if (cfg.workers > 0) return cfg.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::chrono::milliseconds grace_period(const config::StaticConfig& cfg) {
  std::chrono::milliseconds grace{10000};
  for (const auto& [name, ep] : cfg.entry_points) grace = std::max(grace, ep.grace_timeout);
  return grace;
}

// entryPoints.NAME.http.tls.options: the options of the HTTP routers without a `tls` of their
// own on that entrypoint (config/entry_point_model.hpp), by their hosts.
void add_entry_point_options(const config::Dynamic& dyn, const config::StaticConfig& cfg,
                             std::vector<std::pair<std::string, std::string>>& host_options) {
  for (const auto& [name, router] : dyn.http.routers) {
    for (const auto& tls : config::entry_point_tls(router, cfg)) {
      if (tls.options.empty()) continue;
      auto parsed = config::parse_rule(router.rule, config::RuleKind::http);
      if (!parsed.root) continue;
      std::string options = tls.options == "default" ? tls.options : config::qualify(tls.options, router.provider);
      for (const auto& host : config::rule_host_names(*parsed.root)) host_options.emplace_back(host, options);
    }
  }
}

// transport.lifeCycle.requestAcceptGraceTimeout: the longest of the entrypoints' (Traefik waits
// per entrypoint; portier drains all listeners at once).
std::chrono::milliseconds request_accept_grace(const config::StaticConfig& cfg) {
  std::chrono::milliseconds grace{0};
  for (const auto& [name, ep] : cfg.entry_points) grace = std::max(grace, ep.request_accept_grace);
  return grace;
}

}  // namespace

// Rule checks are memoised across rebuilds: a reload where one router changed parses one rule.
// Entries not asked for by the last merge are dropped after it.
std::string Application::check_rule(std::string_view rule, bool tcp) {
  RuleChecks& checks = rule_checks_[tcp ? 1 : 0];
  auto it = checks.find(rule);
  if (it == checks.end()) {
    auto parsed = config::parse_rule(rule, tcp ? config::RuleKind::tcp : config::RuleKind::http);
    it = checks.emplace(std::string(rule), RuleCheck{std::move(parsed.error), 0}).first;
  }
  it->second.merge = merges_;
  return it->second.error;
}

Application::Application(config::StaticConfig cfg, std::map<std::string, std::string> env,
                         std::vector<std::string> command)
    : cfg_(std::move(cfg)), env_(std::move(env)), command_(std::move(command)) {}

// On the early-return paths of run() (a listener that cannot open) the components were
// started but never stopped: stop them and let their coroutines unwind here, before the
// members and the io_context go (core/task_group.hpp). After a normal run() this finds
// everything idle already.
Application::~Application() {
  if (proxy_) proxy_->stop();
  stop_control_components();
  diagnostics_.stop();
  control_.restart();
  const auto deadline = std::chrono::steady_clock::now() + kControlUnwind;
  while (!control_busy().empty() && std::chrono::steady_clock::now() < deadline)
    control_.run_one_for(std::chrono::milliseconds(50));
}

int Application::run() {
  std::vector<std::string> problems;
  inherited_ = core::InheritedSockets::from_environment(&problems);
  for (const auto& p : problems) core::log_warn(p);
  UpgradeState carried;
  if (std::string bytes = take_predecessor_state(); !bytes.empty()) {
    auto state = decode_upgrade_state(bytes);
    if (state && ticket_keys_->import_keys(state->ticket_keys)) {
      core::log_info("upgrade: TLS session-ticket keys and ", state->ocsp.size(),
                     " OCSP responses taken over from the previous process");
      carried = std::move(*state);
    } else {
      core::log_warn("upgrade: the previous process's state is unreadable; new TLS session-ticket keys");
    }
  }
  proxy_ = std::make_unique<proxy::ProxyServer>(cfg_, worker_count(cfg_), proxy::ProxyLimits{}, &inherited_);
  proxy_->set_acme_challenges(&acme_challenges_);
  proxy_->set_cert_store(&cert_store_);
  start_acme();  // stored certificates are in the store before any listener opens
  rebuild();  // an empty configuration until providers speak: every request gets 404
  if (cfg_.ocsp_enabled) {
    ocsp_ = std::make_unique<OcspRefresher>(control_, cert_store_);
    ocsp_->adopt(std::move(carried.ocsp));
    ocsp_->start();
  }
  start_providers();
  // Let providers deliver their first state before traffic arrives.
  control_.poll();
  control_.restart();  // poll() leaves the context stopped when it ran out of work

  problems = proxy_->open_listeners();
  if (!problems.empty()) {
    for (const auto& p : problems) core::log_error(p);
    return 1;
  }
  install_diagnostics();
  if (auto err = diagnostics_.listen(cfg_.diagnostics_address, &inherited_); !err.empty()) {
    core::log_error(err);
    return 1;
  }
  log_inherited_sockets();
  proxy_->start();
  publish_control_metrics();
  publish_api();

  rotate_ticket_keys();
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  signals_.add(SIGUSR2);
  signals_.add(SIGUSR1);
  std::function<void(boost::system::error_code, int)> on_signal = [this, &on_signal](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGUSR2) {
      upgrades_.spawn(upgrade_then_drain(), "SIGUSR2");
      signals_.async_wait(on_signal);
      return;
    }
    if (sig == SIGHUP) {
      core::log_info("SIGHUP: reloading providers");
      if (file_provider_) file_provider_->reload();
      signals_.async_wait(on_signal);
      return;
    }
    if (sig == SIGUSR1) {  // logrotate moved the files: write to new ones
      if (auto err = core::reopen_log_file(); !err.empty()) core::log_error(err);
      proxy_->observability().reopen_access_log();
      core::log_info("SIGUSR1: log files reopened");
      signals_.async_wait(on_signal);
      return;
    }
    begin_shutdown();
  };
  signals_.async_wait(on_signal);

  core::log_info("portier ", kVersion, " serving ", http_entry_points_summary(), "; diagnostics on ",
                 cfg_.diagnostics_address);
  if (!tell_predecessor_ready()) sd_notify("READY=1\nSTATUS=serving");
  control_.run();
  proxy_->stop();
  return exit_code_;
}

// The inherited sockets (core/listen_fds.hpp) once every listener took its own: those serving,
// and those no entrypoint matched (they serve nothing).
void Application::log_inherited_sockets() const {
  for (const auto& s : inherited_.sockets()) {
    if (s.used)
      core::log_info("socket activation: serving inherited socket ", s.describe());
    else
      core::log_warn("socket activation: inherited socket ", s.describe(),
                     " matches no entrypoint address; it serves nothing");
  }
}

void Application::start_acme() {
  if (cfg_.cert_resolvers.empty()) return;
  acme_ = std::make_unique<acme::AcmeManager>(control_, cfg_, cert_store_, env_);
  acme_->set_challenge_answers(acme_challenges_);
  for (const auto& p : acme_->load_storage()) core::log_error("acme: ", p.to_string());
  acme_->start();
}

void Application::start_providers() {
  if (cfg_.file) {
    file_provider_ = std::make_unique<discovery::FileProvider>(
        control_, *cfg_.file, [this](config::Fragment f) { on_fragment("file", std::move(f)); });
    file_provider_->start();
  }
  if (cfg_.docker) {
    docker_provider_ = std::make_unique<discovery::DockerProvider>(
        control_.get_executor(), discovery::make_docker_options(cfg_),
        [this](const config::Fragment& f, const discovery::PortsView& ports) {
          ports_ = ports;
          on_fragment("docker", f);
        });
    docker_provider_->start();
  }
}

std::string Application::http_entry_points_summary() const {
  std::string out;
  for (const auto& [name, ep] : cfg_.entry_points) {
    if (!out.empty()) out += ", ";
    out += name + "=" + ep.address;
  }
  return out.empty() ? "no entrypoints" : out;
}

// Live upgrade (app/live_upgrade.hpp): the successor gets every listening socket, this
// process drains once it serves. An error leaves this process serving, and says why.
proxy::awaitable<UpgradeResult> Application::upgrade() {
  if (stopping_ || upgrading_)
    co_return UpgradeResult{0, stopping_ ? "shutting down" : "an upgrade is already running"};
  if (command_.empty()) co_return UpgradeResult{0, "the path of the running binary is unknown"};
  upgrading_ = true;
  auto sockets = proxy_->listening_sockets();
  sockets.emplace_back(diagnostics_.native_handle(), "diagnostics");
  core::log_info("upgrade: starting ", command_[0], " with ", sockets.size(), " listening sockets");
  const std::string state =
      encode_upgrade_state({ticket_keys_->export_keys(), ocsp_ ? ocsp_->responses() : std::map<std::string, std::string>{}});
  auto result = co_await start_successor(command_, sockets, state, kUpgradeTimeout);
  upgrading_ = false;
  if (!result.error.empty()) {
    core::log_error("upgrade failed, still serving: ", result.error);
    co_return result;
  }
  core::log_info("upgrade: process ", result.pid, " serves; this one drains");
  handed_over_ = true;
  sd_notify("MAINPID=" + std::to_string(result.pid) + "\nREADY=1\nSTATUS=upgraded");
  co_return result;
}

proxy::awaitable<void> Application::upgrade_then_drain() {
  auto result = co_await upgrade();
  if (result.error.empty()) begin_shutdown();
}

// POST /upgrade: answers once the successor serves (200, its pid) or failed (500, why); the
// drain starts after the answer is written.
proxy::awaitable<DiagResponse> Application::upgrade_request() {
  auto result = co_await upgrade();
  if (!result.error.empty())
    co_return DiagResponse{500, "application/json", nlohmann::json{{"error", result.error}}.dump() + "\n"};
  DiagResponse resp{200, "application/json", nlohmann::json{{"pid", result.pid}}.dump() + "\n"};
  resp.after_sent = [this] { begin_shutdown(); };
  co_return resp;
}

void Application::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  core::log_info("shutting down: draining connections");
  if (handed_over_) {
    diagnostics_.stop();  // the successor of a live upgrade answers on the diagnostics address
  } else {
    sd_notify("STOPPING=1");
    proxy_->observability().set_terminating();  // ping answers terminatingStatusCode from now on
  }
  stop_control_components();
  // Requests are still served for requestAcceptGraceTimeout (ping already answers
  // terminatingStatusCode, so load balancers stop sending); then graceTimeOut runs. After a
  // live upgrade the successor serves: no reason to wait.
  const auto accept_grace = handed_over_ ? std::chrono::milliseconds(0) : request_accept_grace(cfg_);
  if (accept_grace.count() == 0) return begin_drain();
  core::log_info("waiting ", accept_grace.count(), " ms for incoming requests to cease");
  after(accept_grace, [this] { begin_drain(); });
}

void Application::begin_drain() {
  proxy_->begin_drain();
  wait_drained(std::chrono::steady_clock::now() + grace_period(cfg_));
}

// After a live upgrade the drain also waits for the UDP sessions relaying their last replies
// (the successor serves meanwhile); a plain stop does not hold the restart for them.
void Application::wait_drained(std::chrono::steady_clock::time_point deadline) {
  const size_t open = static_cast<size_t>(proxy_->active_connections()) + (handed_over_ ? proxy_->udp_sessions() : 0);
  if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (open > 0) core::log_warn("grace period over: closing ", open, " connections and UDP sessions");
    // Diagnostics (its /ping answering terminatingStatusCode) served until the drain ends.
    diagnostics_.stop();
    wait_control_idle(std::chrono::steady_clock::now() + kControlUnwind);
    return;
  }
  after(std::chrono::milliseconds(20), [this, deadline] { wait_drained(deadline); });
}

// Cancels every coroutine and timer of the control thread's components (idempotent).
void Application::stop_control_components() {
  signals_.cancel();
  upgrades_.cancel();
  ticket_timer_.cancel();
  health_checker_.stop();
  if (file_provider_) file_provider_->stop();
  if (docker_provider_) docker_provider_->stop();
  if (acme_) acme_->stop();
  if (ocsp_) ocsp_->stop();
}

// The components whose coroutines have not finished yet ("" when none).
std::string Application::control_busy() const {
  std::string busy;
  auto add = [&busy](bool idle, const char* name) {
    if (!idle) busy += (busy.empty() ? "" : ", ") + std::string(name);
  };
  add(health_checker_.idle(), "health checks");
  add(upgrades_.empty(), "upgrade");
  add(diagnostics_.idle(), "diagnostics");
  add(!file_provider_ || file_provider_->idle(), "file provider");
  add(!docker_provider_ || docker_provider_->idle(), "docker provider");
  add(!acme_ || acme_->idle(), "acme");
  add(!ocsp_ || ocsp_->idle(), "ocsp");
  return busy;
}

// The lifetime rule of core/task_group.hpp: the components stopped in begin_shutdown() have
// cancelled their coroutines; these unwind on this io_context, and only then may run() return
// and the components and the io_context be destroyed. Cancelled coroutines end within a turn
// or two of the loop; the deadline only guards against one that ignores cancellation.
void Application::wait_control_idle(std::chrono::steady_clock::time_point deadline) {
  std::string busy = control_busy();
  if (!busy.empty() && std::chrono::steady_clock::now() < deadline) {
    after(std::chrono::milliseconds(5), [this, deadline] { wait_control_idle(deadline); });
    return;
  }
  if (!busy.empty()) core::log_error("shutdown: still running after cancellation: ", busy);
  control_.stop();
}

void Application::after(std::chrono::milliseconds delay, std::function<void()> then) {
  auto timer = std::make_shared<boost::asio::steady_timer>(control_, delay);
  timer->async_wait([timer, then = std::move(then)](boost::system::error_code) { then(); });
}

void Application::on_fragment(const std::string& provider, config::Fragment fragment) {
  for (const auto& e : fragment.errors) {
    bool known = false;
    auto old = fragments_.find(provider);
    if (old != fragments_.end())
      known = std::find(old->second.errors.begin(), old->second.errors.end(), e) != old->second.errors.end();
    if (!known && provider == "file") core::log_error(e.provider, " ", e.source, (e.label.empty() ? "" : " " + e.label), ": ", e.message);
  }
  // A file that does not load whole keeps the provider's last good configuration (as Traefik
  // does); its errors are shown until it is fixed.
  auto& slot = fragments_[provider];
  bool had_good = loaded_clean_.count(provider) > 0;
  if (fragment.errors.empty()) loaded_clean_.insert(provider);
  config::Fragment previous;  // freed after the rebuild, once the new snapshot is published
  if (!fragment.errors.empty() && provider == "file" && had_good) {
    slot.errors = std::move(fragment.errors);
  } else {
    previous = std::exchange(slot, std::move(fragment));
  }
  rebuild();
}

void Application::rebuild() {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::map<std::string, const config::Fragment*> inputs;
  for (const auto& [name, f] : fragments_) inputs[name] = &f;
  std::set<std::string> entry_points;
  for (const auto& [name, ep] : cfg_.entry_points) entry_points.insert(name);
  ++merges_;
  config::Merged merged = config::merge_providers(
      inputs, [this](std::string_view rule, bool tcp) { return check_rule(rule, tcp); },
      entry_points);
  config::assign_default_entry_points(merged.dynamic, cfg_);
  for (auto& checks : rule_checks_)
    std::erase_if(checks, [this](const auto& kv) { return kv.second.merge != merges_; });
  if (runtime_ && merged == merged_) return;  // identical snapshots are not re-applied
  const auto t_merged = clock::now();
  std::vector<std::string> problems;
  auto rc = proxy::compile_runtime(merged.dynamic, cfg_, health_registry_, &problems, &compile_cache_);
  auto tcp = proxy::compile_tcp_runtime(merged.dynamic, cfg_, &problems);
  const auto t_compiled = clock::now();
  rebuild_tls(merged.dynamic, problems);
  compile_errors_.clear();
  for (auto& p : problems) {
    core::log_error(p);
    compile_errors_.push_back({"internal", "runtime", "", p});
  }
  // The previous configuration is freed when this returns, after the publish: tens of
  // thousands of frees that would otherwise delay the new snapshot.
  config::Merged previous = std::exchange(merged_, std::move(merged));
  const auto t_built = clock::now();
  proxy_->publish(rc);
  proxy_->publish_tcp(tcp);
  const auto t_published = clock::now();
  runtime_ = rc;
  ++reloads_;
  last_reload_success_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  health_checker_.update(rc);
  if (acme_) acme_->update_demands(acme::certificate_demands(merged_.dynamic, &cfg_));
  health_registry_.prune();
  const auto& d = merged_.dynamic;
  auto ms = [](clock::duration x) { return std::chrono::duration<double, std::milli>(x).count(); };
  last_snapshot_ = {d.http.routers.size() + d.tcp.routers.size() + d.udp.routers.size(),
                    ms(t_merged - t0), ms(t_compiled - t_merged), ms(t_built - t0), ms(t_published - t_built),
                    last_snapshot_.generation + 1};
  core::log_info("configuration applied: ", d.http.routers.size(), " http, ", d.tcp.routers.size(), " tcp, ",
                 d.udp.routers.size(), " udp routers; ", merged_.errors.size() + compile_errors_.size(),
                 " errors; snapshot built in ", last_snapshot_.build_ms, " ms (compile ", last_snapshot_.compile_ms,
                 " ms), published in ", last_snapshot_.publish_ms, " ms");
}

// Certificates from tls.certificates and the default store, then a new server context for
// new handshakes (established connections keep theirs).
void Application::rebuild_tls(const config::Dynamic& dyn, std::vector<std::string>& problems) {
  std::vector<tls::CertEntryPtr> entries;
  for (const auto& c : dyn.tls.certificates) {
    auto r = tls::load_cert_entry(c.cert_file, c.key_file, "file");
    if (r.entry) entries.push_back(r.entry);
    else problems.push_back("tls.certificates " + c.cert_file + ": " + r.error);
  }
  cert_store_.set_source_entries("file", std::move(entries));
  tls::CertEntryPtr default_cert;
  if (auto it = dyn.tls.stores.find("default"); it != dyn.tls.stores.end() && it->second.default_certificate) {
    const auto& c = *it->second.default_certificate;
    auto r = tls::load_cert_entry(c.cert_file, c.key_file, "file");
    if (r.entry) default_cert = r.entry;
    else problems.push_back("tls.stores.default.defaultCertificate: " + r.error);
  }
  cert_store_.set_default(default_cert);

  tls::ServerContextConfig sc;
  sc.options = dyn.tls.options;
  sc.default_alpn = {"h2", "http/1.1"};
  for (const auto& [name, resolver] : cfg_.cert_resolvers)
    if (resolver.tls_challenge) sc.challenges = &acme_challenges_;
  auto add_hosts = [&](const auto& routers, config::RuleKind kind) {
    for (const auto& [name, router] : routers) {
      if (!router.tls || router.tls->options.empty() || router.tls->passthrough) continue;
      auto parsed = config::parse_rule(router.rule, kind);
      if (!parsed.root) continue;
      for (const auto& host : config::rule_host_names(*parsed.root))
        sc.host_options.emplace_back(host, router.tls->options);
    }
  };
  add_hosts(dyn.http.routers, config::RuleKind::http);
  add_entry_point_options(dyn, cfg_, sc.host_options);
  add_hosts(dyn.tcp.routers, config::RuleKind::tcp);  // routers that terminate TLS (Traefik too)
  core::Problems tls_problems;
  auto server = tls::ServerContext::create(cert_store_, ticket_keys_, sc, tls_problems);
  for (const auto& p : tls_problems) problems.push_back(p.to_string());
  if (server) proxy_->publish_tls(proxy::make_tls_context(std::move(server)));
}

void Application::rotate_ticket_keys() {
  ticket_keys_->rotate_if_due(std::chrono::system_clock::now());
  ticket_timer_.expires_after(std::chrono::minutes(10));
  ticket_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopping_) rotate_ticket_keys();
  });
}

nlohmann::json Application::health_json() const {
  size_t errors = merged_.errors.size() + compile_errors_.size();
  nlohmann::json providers = nlohmann::json::array();
  bool provider_down = false;
  if (cfg_.file) {
    std::string path = cfg_.file->filename.empty() ? cfg_.file->directory : cfg_.file->filename;
    auto it = fragments_.find("file");
    bool ok = it != fragments_.end();
    providers.push_back({{"name", "file"}, {"endpoint", "file://" + path}, {"status", ok ? "connected" : "reconnecting"}});
    provider_down |= !ok;
  }
  if (docker_provider_) {
    for (const auto& st : docker_provider_->status()) {
      providers.push_back({{"name", "docker"}, {"endpoint", st.endpoint}, {"status", st.status}, {"containers", st.containers}});
      provider_down |= st.status == "reconnecting";
    }
  }
  // State files that could not be written: the old file stays whole, the write is retried.
  nlohmann::json storage_errors = nlohmann::json::array();
  if (docker_provider_ && !docker_provider_->ports_save_error().empty())
    storage_errors.push_back({{"file", docker_provider_->ports_file()}, {"error", docker_provider_->ports_save_error()}});
  if (acme_)
    for (const auto& [file, error] : acme_->storage_errors()) storage_errors.push_back({{"file", file}, {"error", error}});
  const auto& d = merged_.dynamic;
  bool acme_degraded = acme_ && acme_->degraded();
  bool degraded = errors > 0 || provider_down || acme_degraded || !storage_errors.empty();
  nlohmann::json out = {{"status", degraded ? "degraded" : "ok"},
          {"version", kVersion},
          {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count()},
          {"routers", {{"http", d.http.routers.size()}, {"tcp", d.tcp.routers.size()}, {"udp", d.udp.routers.size()}}},
          {"services", {{"http", d.http.services.size()}, {"tcp", d.tcp.services.size()}, {"udp", d.udp.services.size()}}},
          {"auto_routes", !cfg_.infra.base_domain.empty() && cfg_.docker.has_value()},
          {"providers", providers},
          {"errors", errors},
          {"storage_errors", std::move(storage_errors)},
          {"last_snapshot", {{"routers", last_snapshot_.routers},
                             {"merge_ms", last_snapshot_.merge_ms},
                             {"compile_ms", last_snapshot_.compile_ms},
                             {"build_ms", last_snapshot_.build_ms},
                             {"publish_ms", last_snapshot_.publish_ms},
                             {"generation", last_snapshot_.generation}}}};
  if (acme_) out["acme"] = acme_->health_json();
  if (proxy_) {  // entryPoints.NAME.http3 sockets and their open QUIC connections
    nlohmann::json h3 = nlohmann::json::array();
    for (const auto& s : proxy_->http3_listeners())
      h3.push_back({{"entryPoint", s.entry_point}, {"address", s.address}, {"connections", s.connections},
                    {"sockets", s.sockets}});
    if (!h3.empty()) out["http3"] = std::move(h3);
  }
  return out;
}

nlohmann::json Application::certificates_json() const {
  nlohmann::json out = nlohmann::json::array();
  if (acme_) {
    out = acme_->certificates_json();
  } else {
    for (const auto& c : cert_store_.list())
      out.push_back({{"id", c.id}, {"names", c.names}, {"issuer", c.issuer}, {"not_after", c.not_after}, {"source", c.source}});
  }
  for (auto& c : out) {
    if (!ocsp_ || !c.contains("id")) continue;
    if (auto state = ocsp_->state_json(c["id"].get<std::string>()); !state.is_null()) c["ocsp"] = std::move(state);
  }
  return out;
}

nlohmann::json Application::routes_json() const {
  std::map<std::pair<std::string, std::string>, bool> health;
  if (runtime_)
    for (const auto& svc : runtime_->services)
      for (const auto& u : svc.servers) health[{svc.name, u.url}] = u.health->healthy.load();
  nlohmann::json j = config::routes_json(merged_, [&health](const std::string& service, const std::string& url) -> std::optional<bool> {
    auto it = health.find({service, url});
    if (it == health.end()) return std::nullopt;
    return it->second;
  });
  for (const auto& e : compile_errors_)
    j["errors"].push_back({{"provider", e.provider}, {"source", e.source}, {"label", e.label}, {"message", e.message}});
  j["skipped"] = nlohmann::json::array();  // left out by design (constraints): informations
  if (docker_provider_)
    for (const auto& e : docker_provider_->skipped())
      j["skipped"].push_back({{"provider", e.provider}, {"source", e.source}, {"message", e.message}});
  return j;
}

nlohmann::json Application::ports_json() const {
  auto list = [](const std::vector<discovery::PortEntry>& entries) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries)
      out.push_back({{"port", e.port}, {"service", e.service}, {"network_id", e.network_id}, {"target", e.target}});
    return out;
  };
  return {{"tcp", list(ports_.tcp)}, {"udp", list(ports_.udp)}};
}

void Application::install_diagnostics() {
  // replace: names and error texts come from outside input; a byte that is not UTF-8 must not
  // make the handler throw (the readers refuse such input, this is the last line).
  auto json = [](nlohmann::json j) {
    return DiagResponse{200, "application/json",
                        j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
  };
  diagnostics_.route("/health", [this, json] { return json(health_json()); });
  diagnostics_.route_post("/upgrade", [this] { return upgrade_request(); });
  diagnostics_.route("/routes.json", [this, json] { return json(routes_json()); });
  diagnostics_.route("/ports", [this, json] { return json(ports_json()); });
  diagnostics_.route("/certificates", [this, json] { return json(certificates_json()); });
  // Request series need metrics.prometheus (counting them costs); the rest is always there.
  diagnostics_.route("/metrics", [this] {
    proxy_->observability().publish_extra(control_metrics());
    return DiagResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                        proxy_->observability().render_metrics()};
  });
  diagnostics_.route("/ping", [this] {
    int status = stopping_ ? cfg_.ping.terminating_status : 200;
    return DiagResponse{status, "text/plain; charset=utf-8", std::string(proxy::reason_phrase(status))};
  });
  // The JSON API and the dashboard (api.dashboard: false turns the dashboard off).
  auto api = [this](const proxy::RequestHead& head) {
    proxy::ApiReply r = answer_api(api_state(), head.method, head.path, head.query);
    DiagResponse out{r.status, std::move(r.content_type), std::move(r.body)};
    out.headers = std::move(r.headers);
    return out;
  };
  diagnostics_.route_prefix("/api", api);
  diagnostics_.route_prefix("/dashboard", api);
  diagnostics_.route("/dynamic.yml", [this] {
    return DiagResponse{200, "application/yaml", config::dynamic_yaml(merged_.dynamic)};
  });
}

std::string Application::control_metrics() const {
  ControlMetrics m;
  m.reloads = reloads_;
  m.last_reload_success = last_reload_success_;
  m.last_build_seconds = last_snapshot_.build_ms / 1000.0;
  m.generation = last_snapshot_.generation;
  m.config_errors = merged_.errors.size() + compile_errors_.size();
  m.routers = last_snapshot_.routers;
  m.tcp_ports = ports_.tcp.size();
  m.udp_ports = ports_.udp.size();
  m.certs = &cert_store_;
  m.runtime = runtime_.get();
  m.docker = docker_provider_ != nullptr;
  if (docker_provider_) m.daemons = docker_provider_->status();
  if (acme_) m.acme = acme_->order_counts();
  return render_control_metrics(m);
}

ApiState Application::api_state() const {
  ApiInputs in{routes_json(), certificates_json(), ports_json(), {}, {}, {}, {}};
  if (docker_provider_) in.docker = docker_provider_->status();
  if (cfg_.prometheus.enabled) {
    const auto& obs = proxy_->observability();
    in.entry_point_requests = obs.request_counts(proxy::MetricsShard::Kind::entry_point);
    in.service_requests = obs.request_counts(proxy::MetricsShard::Kind::service);
  }
  const auto up = std::chrono::steady_clock::now() - started_;
  in.start_date = tls::iso8601(std::chrono::system_clock::now() -
                               std::chrono::duration_cast<std::chrono::system_clock::duration>(up));
  return build_api_state(cfg_, std::move(in));
}

void Application::publish_api() {
  if (!cfg_.api.enabled || stopping_) return;
  bool routed = cfg_.api.insecure;
  if (runtime_)
    for (const auto& svc : runtime_->services) routed |= svc.internal == config::InternalService::api;
  if (routed) {
    auto state = std::make_shared<const ApiState>(api_state());
    proxy_->observability().api().publish(std::make_shared<const proxy::InternalApi>(
        [state](std::string_view method, std::string_view path, std::string_view query) {
          return answer_api(*state, method, path, query);
        }));
  }
  after(std::chrono::seconds(1), [this] { publish_api(); });
}

void Application::publish_control_metrics() {
  if (!cfg_.prometheus.enabled || stopping_) return;
  proxy_->observability().publish_extra(control_metrics());
  after(std::chrono::seconds(1), [this] { publish_control_metrics(); });
}

}  // namespace portier::app
