#include "config/dynamic_merge.hpp"

#include "config/internal_services.hpp"
#include "core/log.hpp"

#include <re2/re2.h>

#include <charconv>
#include <unordered_map>

namespace portier::config {

std::string qualify(std::string_view name, std::string_view provider) {
  if (name.find('@') != std::string_view::npos) return std::string(name);
  std::string r(name);
  r += '@';
  r += provider;
  return r;
}

namespace {

std::string provider_of(const std::string& qualified) {
  const size_t at = qualified.rfind('@');
  return at == std::string::npos ? "" : qualified.substr(at + 1);
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string join(const std::vector<std::string>& parts) {
  std::string r;
  for (const auto& p : parts) r += (r.empty() ? "" : "; ") + p;
  return r;
}

// "host:port" or "[v6]:port" with a numeric port.
bool valid_address(const std::string& a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  int port = 0;
  auto [p, ec] = std::from_chars(a.data() + colon + 1, a.data() + a.size(), port);
  return ec == std::errc() && p == a.data() + a.size() && port > 0 && port < 65536;
}

std::string check_server_url(const std::string& url) {
  const std::string_view u = url;
  const size_t sep = u.find("://");
  if (sep == std::string::npos) return "server url " + quoted(url) + " has no scheme";
  const std::string_view scheme = u.substr(0, sep);
  if (scheme != "http" && scheme != "https" && scheme != "h2c")
    return "server url " + quoted(url) + ": scheme must be http, https or h2c";
  const size_t host_end = u.find_first_of("/?#", sep + 3);
  if (u.substr(sep + 3, host_end - (sep + 3)).empty())
    return "server url " + quoted(url) + " has no host";
  return "";
}

class Merger {
 public:
  Merger(const RuleChecker& check_rule, const std::set<std::string>& entry_points)
      : check_rule_(check_rule), entry_points_(entry_points) {}

  Merged run(const std::map<std::string, const Fragment*>& providers) {
    providers_ = &providers;
    for (const auto& [name, fragment] : providers) collect(name, *fragment);
    validate_services();
    validate_middlewares();
    validate_routers();
    out_.dynamic.tls = all_.tls;
    return std::move(out_);
  }

 private:
  // Where `section`.`qualified` was defined: its fragment's `sources` entry, or "". Only the
  // sections collected by add() have one (TLS options and stores are reported without).
  std::string source_of(const std::string& section, const std::string& qualified) const {
    const size_t at = qualified.rfind('@');
    if (at == std::string::npos || section.rfind("tls.", 0) == 0) return "";
    const auto f = providers_->find(qualified.substr(at + 1));
    if (f == providers_->end()) return "";
    const auto src = f->second->sources.find(section + "." + qualified.substr(0, at));
    return src == f->second->sources.end() ? "" : src->second;
  }

  void error(const std::string& section, const std::string& qualified, std::string message) {
    out_.errors.push_back({provider_of(qualified), source_of(section, qualified),
                           section + "." + qualified, std::move(message), 0});
  }

  // Copies a fragment's items into all_ with qualified names and references.
  void collect(const std::string& provider, const Fragment& f) {
    out_.errors.insert(out_.errors.end(), f.errors.begin(), f.errors.end());
    provider_ = provider;
    fragment_ = &f;
    const Dynamic& d = f.dynamic;
    add("http.routers", d.http.routers, all_.http.routers, [&](HttpRouter& r) {
      r.service = q(r.service);
      for (auto& m : r.middlewares) m = q(m);
      if (r.tls) r.tls->options = q_options(r.tls->options);
    });
    add("http.services", d.http.services, all_.http.services, [&](HttpService& s) {
      if (s.load_balancer && !s.load_balancer->servers_transport.empty())
        s.load_balancer->servers_transport = q(s.load_balancer->servers_transport);
      if (s.weighted)
        for (auto& w : s.weighted->services) w.name = q(w.name);
      if (s.mirroring) {
        s.mirroring->service = q(s.mirroring->service);
        for (auto& m : s.mirroring->mirrors) m.name = q(m.name);
      }
      if (s.failover) {
        s.failover->service = q(s.failover->service);
        s.failover->fallback = q(s.failover->fallback);
      }
    });
    add("http.middlewares", d.http.middlewares, all_.http.middlewares, [&](Middleware& m) {
      if (auto* chain = std::get_if<ChainMw>(&m.spec))
        for (auto& n : chain->middlewares) n = q(n);
      if (auto* errors = std::get_if<ErrorsMw>(&m.spec)) errors->service = q(errors->service);
    });
    add("http.serversTransports", d.http.servers_transports, all_.http.servers_transports,
        [](ServersTransport&) {});
    add("tcp.routers", d.tcp.routers, all_.tcp.routers, [&](TcpRouter& r) {
      r.service = q(r.service);
      for (auto& m : r.middlewares) m = q(m);
      if (r.tls) r.tls->options = q_options(r.tls->options);
    });
    add("tcp.services", d.tcp.services, all_.tcp.services, [&](TcpService& s) {
      s.servers_transport = q(s.servers_transport);
    });
    add("tcp.serversTransports", d.tcp.servers_transports, out_.dynamic.tcp.servers_transports,
        [](TcpServersTransport&) {});
    // TCP middlewares hold no references; their values are checked when compiled.
    add("tcp.middlewares", d.tcp.middlewares, out_.dynamic.tcp.middlewares, [](TcpMiddleware&) {});
    add("udp.routers", d.udp.routers, all_.udp.routers,
        [&](UdpRouter& r) { r.service = q(r.service); });
    add("udp.services", d.udp.services, all_.udp.services, [](UdpService&) {});
    collect_tls(d.tls);
  }

  std::string q(const std::string& ref) const {
    return ref.empty() ? ref : qualify(ref, provider_);
  }
  std::string q_options(const std::string& ref) const {
    return ref.empty() || ref == "default" ? ref : q(ref);
  }

  template <class T, class Fix>
  void add(const std::string& section, const std::map<std::string, T>& in,
           std::map<std::string, T>& out, Fix fix) {
    for (const auto& [name, item] : in) {
      if (name.find('@') != std::string::npos) {
        const auto src = fragment_->sources.find(section + "." + name);
        out_.errors.push_back({provider_, src == fragment_->sources.end() ? "" : src->second,
                               section + "." + name, "names must not contain '@'", 0});
        continue;
      }
      T copy = item;
      if constexpr (requires { copy.provider; }) copy.provider = provider_;
      fix(copy);
      out.insert_or_assign(out.end(), qualify(name, provider_), std::move(copy));
    }
  }

  void collect_tls(const Dynamic::Tls& tls) {
    all_.tls.certificates.insert(all_.tls.certificates.end(), tls.certificates.begin(),
                                 tls.certificates.end());
    for (const auto& [name, options] : tls.options) {
      const std::string key = q_options(name);
      if (all_.tls.options.count(key)) {
        error("tls.options", key, "defined by several providers; keeping the first");
        continue;
      }
      TlsOptions copy = options;
      copy.provider = provider_;
      all_.tls.options[key] = copy;
    }
    for (const auto& [name, store] : tls.stores) {
      if (all_.tls.stores.count(name)) {
        error("tls.stores", name + "@" + provider_,
              "store " + quoted(name) +
                  " defined by several providers; "
                  "keeping the first");
        continue;
      }
      all_.tls.stores[name] = store;
    }
  }

  // ---- services --------------------------------------------------------------------------

  std::vector<std::string> load_balancer_problems(const LoadBalancer& lb) const {
    std::vector<std::string> problems;
    for (const auto& s : lb.servers) {
      if (auto e = check_server_url(s.url); !e.empty()) problems.push_back(e);
      if (s.weight < 0) problems.push_back("server " + quoted(s.url) + ": negative weight");
    }
    if (!lb.servers_transport.empty() && lb.servers_transport != kDefaultTransport &&
        !all_.http.servers_transports.count(lb.servers_transport))
      problems.push_back("serversTransport " + quoted(lb.servers_transport) + " does not exist");
    if (lb.health_check) {
      const HealthCheck& h = *lb.health_check;
      if (h.interval.count() <= 0) problems.push_back("healthCheck.interval must be positive");
      if (h.timeout.count() <= 0) problems.push_back("healthCheck.timeout must be positive");
      if (h.port < 0 || h.port > 65535) problems.push_back("healthCheck.port out of range");
    }
    if (lb.sticky_cookie) sticky_problem(*lb.sticky_cookie, "", problems);
    return problems;
  }

  // Returns "" when the HTTP service `name` is usable, else why not. Memoised; detects cycles
  // through services of services (weighted, mirroring, failover).
  std::string http_service_problem(const std::string& name) {
    if (auto it = http_service_state_.find(name); it != http_service_state_.end())
      return it->second.value_or("cycle through service " + quoted(name));
    const auto svc = all_.http.services.find(name);
    if (svc == all_.http.services.end()) return "service " + quoted(name) + " does not exist";
    return http_service_verdict(name, svc->second);
  }

  // A child's problem as its parent reports it: missing and cyclic references as they are,
  // anything else as "invalid" (the child's own error names it).
  void child_problem(const std::string& child, std::vector<std::string>& problems) {
    if (auto p = http_service_problem(child); !p.empty())
      problems.push_back(p.find("does not exist") != std::string::npos || p.find("cycle") == 0
                             ? p
                             : "service " + quoted(child) + " is invalid");
  }

  // Whether a service reports its health to a parent (Traefik's StatusUpdater that accepts an
  // updater): a loadBalancer with healthCheck, or a service of services with healthCheck.
  bool reports_health(const std::string& name) const {
    const auto it = all_.http.services.find(name);
    const auto done = out_.dynamic.http.services.find(name);
    const HttpService* s = it != all_.http.services.end() ? &it->second
                           : done != out_.dynamic.http.services.end() ? &done->second
                                                                       : nullptr;
    if (!s) return false;
    if (s->load_balancer) return s->load_balancer->health_check.has_value();
    if (s->weighted) return s->weighted->health_check.has_value();
    if (s->mirroring) return s->mirroring->health_check.has_value();
    return s->failover && s->failover->health_check.has_value();
  }

  // `parent` follows `child`'s health: the child must report it (Traefik refuses otherwise).
  void needs_health(const std::string& child, const char* why, std::vector<std::string>& problems) const {
    if (!reports_health(child))
      problems.push_back(why + std::string(" needs a healthCheck on service ") + quoted(child));
  }

  std::vector<std::string> weighted_problems(const WeightedService& w) {
    std::vector<std::string> problems;
    if (w.services.empty()) problems.push_back("weighted has no services");
    for (const auto& ref : w.services) {
      child_problem(ref.name, problems);
      if (w.health_check) needs_health(ref.name, "weighted.healthCheck", problems);
    }
    if (w.sticky_cookie) sticky_problem(*w.sticky_cookie, "weighted.", problems);
    return problems;
  }

  std::vector<std::string> mirroring_problems(const MirroringService& m) {
    std::vector<std::string> problems;
    child_problem(m.service, problems);
    for (const auto& mirror : m.mirrors) child_problem(mirror.name, problems);
    if (m.health_check) needs_health(m.service, "mirroring.healthCheck", problems);
    return problems;
  }

  std::vector<std::string> failover_problems(const FailoverService& f) {
    std::vector<std::string> problems;
    child_problem(f.service, problems);
    child_problem(f.fallback, problems);
    needs_health(f.service, "failover", problems);
    if (f.health_check) needs_health(f.fallback, "failover.healthCheck", problems);
    return problems;
  }

  static void sticky_problem(const StickyCookie& c, const char* prefix, std::vector<std::string>& problems) {
    const std::string& ss = c.same_site;
    if (!ss.empty() && ss != "none" && ss != "lax" && ss != "strict")
      problems.push_back(prefix + std::string("sticky.cookie.sameSite must be none, lax or strict"));
  }

  // http_service_problem for a service not visited yet, found already.
  std::string http_service_verdict(const std::string& name, const HttpService& s) {
    auto& state = http_service_state_[name];
    state = std::nullopt;  // in progress
    std::vector<std::string> problems;
    if (s.types() > 1)
      problems.push_back("has more than one of loadBalancer, weighted, mirroring and failover");
    else if (s.types() == 0)
      problems.push_back("has none of loadBalancer, weighted, mirroring and failover");
    auto add = [&](std::vector<std::string> more) { problems.insert(problems.end(), more.begin(), more.end()); };
    if (s.load_balancer) add(load_balancer_problems(*s.load_balancer));
    if (s.weighted) add(weighted_problems(*s.weighted));
    if (s.mirroring) add(mirroring_problems(*s.mirroring));
    if (s.failover) add(failover_problems(*s.failover));
    std::string result = join(problems);
    if (problems.empty()) {
      state.emplace();  // the node is stable across the recursion's inserts
      return result;
    }
    state = result;
    return result;
  }

  void validate_services() {
    http_service_state_.reserve(all_.http.services.size());
    // In name order: a service's verdict is final once computed (a weighted parent visits its
    // children first, and finds visited ones memoised), so a valid service's node is moved out
    // of all_ right away.
    auto& services = all_.http.services;
    for (auto it = services.begin(); it != services.end();) {
      const auto next = std::next(it);
      const auto seen = http_service_state_.find(it->first);
      const std::string p =
          seen != http_service_state_.end() ? *seen->second : http_service_verdict(it->first, it->second);
      if (p.empty())
        out_.dynamic.http.services.insert(out_.dynamic.http.services.end(), services.extract(it));
      else
        error("http.services", it->first, p);
      it = next;
    }
    for (const auto& [name, t] : all_.http.servers_transports)
      out_.dynamic.http.servers_transports[name] = t;
    for (const auto& [name, svc] : all_.tcp.services) {
      std::vector<std::string> problems;
      for (const auto& s : svc.servers)
        if (!valid_address(s.address))
          problems.push_back("server address " + quoted(s.address) + " is not host:port");
      const std::string& transport = svc.servers_transport;
      if (!transport.empty() && transport != kDefaultTransport &&
          !out_.dynamic.tcp.servers_transports.count(transport))
        problems.push_back("serversTransport " + quoted(transport) + " does not exist");
      record(problems, "tcp.services", name, svc, out_.dynamic.tcp.services, bad_tcp_services_);
    }
    for (const auto& [name, svc] : all_.udp.services) {
      std::vector<std::string> problems;
      for (const auto& s : svc.servers)
        if (!valid_address(s.address))
          problems.push_back("server address " + quoted(s.address) + " is not host:port");
      record(problems, "udp.services", name, svc, out_.dynamic.udp.services, bad_udp_services_);
    }
  }

  template <class T>
  void record(const std::vector<std::string>& problems, const std::string& section,
              const std::string& name, const T& item, std::map<std::string, T>& good,
              std::set<std::string>& bad) {
    if (problems.empty()) {
      good[name] = item;
    } else {
      bad.insert(name);
      error(section, name, join(problems));
    }
  }

  // ---- middlewares -----------------------------------------------------------------------

  std::vector<std::string> middleware_own_problems(const std::string& name, const Middleware& m) const {
    std::vector<std::string> problems;
    if (auto* r = std::get_if<RedirectRegexMw>(&m.spec)) {
      RE2 re(r->regex, RE2::Quiet);
      if (r->regex.empty())
        problems.push_back("redirectRegex.regex is empty");
      else if (!re.ok())
        problems.push_back("redirectRegex.regex: " + re.error());
    } else if (auto* s = std::get_if<RedirectSchemeMw>(&m.spec)) {
      if (s->scheme.empty()) problems.push_back("redirectScheme.scheme is empty");
    } else if (auto* a = std::get_if<AddPrefixMw>(&m.spec)) {
      if (a->prefix.empty() || a->prefix[0] != '/')
        problems.push_back("addPrefix.prefix must start with '/'");
    } else if (auto* b = std::get_if<BufferingMw>(&m.spec)) {
      if (b->max_request_body_bytes < 0 || b->mem_request_body_bytes < 0 ||
          b->max_response_body_bytes < 0 || b->mem_response_body_bytes < 0)
        problems.push_back("buffering sizes must not be negative");
    } else if (auto* h = std::get_if<HeadersMw>(&m.spec)) {
      if (h->sts_seconds < 0) problems.push_back("headers.stsSeconds must not be negative");
      for (const auto& text : h->access_control_allow_origin_list_regex) {
        RE2 re(text, RE2::Quiet);
        if (!re.ok()) problems.push_back("headers.accessControlAllowOriginListRegex: " + quoted(text) + ": " + re.error());
      }
      warn_ignored_headers_keys(name, *h);
    }
    return problems;
  }

  // Traefik v3 decodes these v2 keys and ignores them (its v2-to-v3 notes: "removed"); so does
  // portier, and it says so at each merge.
  static void warn_ignored_headers_keys(const std::string& name, const HeadersMw& h) {
    auto warn = [&](const char* key, const char* instead) {
      core::log_warn("http.middlewares.", name, ".headers.", key, " has no effect (removed in Traefik v3); use ",
                     instead);
    };
    const char* redirect = "an entrypoint redirection or the redirectScheme middleware";
    if (!h.feature_policy.empty()) warn("featurePolicy", "permissionsPolicy");
    if (h.ssl_redirect) warn("sslRedirect", redirect);
    if (h.ssl_temporary_redirect) warn("sslTemporaryRedirect", redirect);
    if (!h.ssl_host.empty()) warn("sslHost", "the redirectRegex middleware");
    if (h.ssl_force_host) warn("sslForceHost", "the redirectRegex middleware");
  }

  std::string middleware_problem(const std::string& name) {
    if (auto it = middleware_state_.find(name); it != middleware_state_.end())
      return it->second.value_or("cycle through chain " + quoted(name));
    const auto mw = all_.http.middlewares.find(name);
    if (mw == all_.http.middlewares.end()) return "middleware " + quoted(name) + " does not exist";
    middleware_state_[name] = std::nullopt;
    std::vector<std::string> problems = middleware_own_problems(name, mw->second);
    if (auto* chain = std::get_if<ChainMw>(&mw->second.spec)) {
      for (const auto& ref : chain->middlewares) {
        const std::string p = middleware_problem(ref);
        if (p.empty()) continue;
        const bool direct = p.find("does not exist") != std::string::npos || p.find("cycle") == 0;
        problems.push_back(direct ? p : "middleware " + quoted(ref) + " is invalid");
      }
    }
    std::string result = join(problems);
    middleware_state_[name] = result;
    return result;
  }

  void validate_middlewares() {
    for (const auto& [name, mw] : all_.http.middlewares) {
      const std::string p = middleware_problem(name);
      if (p.empty())
        out_.dynamic.http.middlewares[name] = mw;
      else
        error("http.middlewares", name, p);
    }
  }

  // ---- routers ---------------------------------------------------------------------------

  void check_entry_points(const std::vector<std::string>& eps, std::vector<std::string>& problems) {
    if (entry_points_.empty()) return;
    for (const auto& ep : eps)
      if (!entry_points_.count(ep))
        problems.push_back("entry point " + quoted(ep) + " does not exist");
  }

  void check_rule(const std::string& rule, bool tcp, std::vector<std::string>& problems) {
    if (rule.empty()) return problems.push_back("rule is missing");
    if (!check_rule_) return;
    if (auto e = check_rule_(rule, tcp); !e.empty()) problems.push_back("rule: " + e);
  }

  void check_tls(const std::optional<RouterTls>& tls, std::vector<std::string>& problems) {
    if (!tls || tls->options.empty() || tls->options == "default") return;
    if (!all_.tls.options.count(tls->options))
      problems.push_back("TLS options " + quoted(tls->options) + " do not exist");
  }

  // Reason a referenced service is unusable: does not exist, or is invalid.
  template <class T>
  static std::string service_ref_problem(const std::string& ref,
                                         const std::map<std::string, T>& all,
                                         const std::map<std::string, T>& good) {
    if (ref.empty()) return "service is missing";
    if (!all.count(ref)) return "service " + quoted(ref) + " does not exist";
    if (!good.count(ref)) return "service " + quoted(ref) + " is invalid";
    return "";
  }

  // service_ref_problem through the memoised verdicts (every item of all_ has one by now):
  // one hash lookup instead of two tree lookups. `what`: "service" or "middleware".
  static std::string verdict_ref_problem(
      const char* what, const std::string& ref,
      const std::unordered_map<std::string, std::optional<std::string>>& verdicts) {
    const auto it = verdicts.find(ref);
    if (it == verdicts.end()) return std::string(what) + " " + quoted(ref) + " does not exist";
    if (!it->second || !it->second->empty())
      return std::string(what) + " " + quoted(ref) + " is invalid";
    return "";
  }

  // Routers are looked at once: a valid one's node is moved from `all` to `good` (no copy,
  // no allocation); a dropped one is kept in out_.disabled with its reasons.
  template <class Router, class Check>
  void validate(const std::string& kind, std::map<std::string, Router>& all,
                std::map<std::string, Router>& good, Check check) {
    for (auto it = all.begin(); it != all.end();) {
      std::vector<std::string> problems;
      check(it->second, problems);
      const auto next = std::next(it);
      if (problems.empty()) {
        good.insert(good.end(), all.extract(it));
      } else {
        const std::string why = join(problems);
        out_.disabled[it->first] = DisabledRouter{kind, why, it->second};
        error(kind + ".routers", it->first, why);
      }
      it = next;
    }
  }

  void validate_routers() {
    validate("http", all_.http.routers, out_.dynamic.http.routers,
             [&](const HttpRouter& r, std::vector<std::string>& problems) {
               check_rule(r.rule, false, problems);
               if (r.service.empty())
                 problems.push_back("service is missing");
               else if (is_internal_name(r.service)) {
                 if (auto p = internal_service_problem(r.service); !p.empty()) problems.push_back(p);
               } else if (auto p = verdict_ref_problem("service", r.service, http_service_state_);
                        !p.empty())
                 problems.push_back(p);
               for (const auto& m : r.middlewares)
                 if (auto p = verdict_ref_problem("middleware", m, middleware_state_); !p.empty())
                   problems.push_back(p);
               check_entry_points(r.entry_points, problems);
               check_tls(r.tls, problems);
             });
    validate("tcp", all_.tcp.routers, out_.dynamic.tcp.routers,
             [&](const TcpRouter& r, std::vector<std::string>& problems) {
               check_rule(r.rule, true, problems);
               if (auto p = service_ref_problem(r.service, all_.tcp.services,
                                                out_.dynamic.tcp.services);
                   !p.empty())
                 problems.push_back(p);
               for (const auto& m : r.middlewares)
                 if (!out_.dynamic.tcp.middlewares.count(m))
                   problems.push_back("middleware " + quoted(m) + " does not exist");
               check_entry_points(r.entry_points, problems);
               check_tls(r.tls, problems);
             });
    validate("udp", all_.udp.routers, out_.dynamic.udp.routers,
             [&](const UdpRouter& r, std::vector<std::string>& problems) {
               if (auto p = service_ref_problem(r.service, all_.udp.services,
                                                out_.dynamic.udp.services);
                   !p.empty())
                 problems.push_back(p);
               check_entry_points(r.entry_points, problems);
             });
  }

  const RuleChecker& check_rule_;
  const std::set<std::string>& entry_points_;
  std::string provider_;
  const Fragment* fragment_ = nullptr;
  Dynamic all_;                                 // every item, qualified, before validation
  const std::map<std::string, const Fragment*>* providers_ = nullptr;
  // Verdicts by qualified name ("" = valid); nullopt while being visited (cycle detection).
  std::unordered_map<std::string, std::optional<std::string>> http_service_state_;
  std::unordered_map<std::string, std::optional<std::string>> middleware_state_;
  std::set<std::string> bad_tcp_services_, bad_udp_services_;
  Merged out_;
};

}  // namespace

Merged merge_providers(const std::map<std::string, const Fragment*>& providers,
                       const RuleChecker& check_rule, const std::set<std::string>& entry_points) {
  return Merger(check_rule, entry_points).run(providers);
}

}  // namespace portier::config
