#include "proxy/upstream_transport.hpp"

#include <map>
#include <mutex>

#include "proxy/client_tls.hpp"

namespace portier::proxy {
namespace {

// portier speaks HTTP/1.1 to https upstreams (HTTP/2 clients are translated).
constexpr std::string_view kAlpnHttp11{"\x08http/1.1", 9};

std::unique_ptr<boost::asio::ssl::context> client_context(const std::string& label,
                                                          const config::ServersTransport& cfg,
                                                          std::vector<std::string>* problems) {
  return make_client_tls_context(label, cfg.insecure_skip_verify, cfg.root_cas, kAlpnHttp11, problems);
}

// The fields of a transport that come from its configuration (not its name, serial, TLS).
void apply_settings(UpstreamTransport& t, const config::ServersTransport& cfg) {
  t.server_name = cfg.server_name;
  t.insecure_skip_verify = cfg.insecure_skip_verify;
  t.dial_timeout = cfg.dial_timeout.count() > 0 ? cfg.dial_timeout : std::chrono::milliseconds(30000);
  t.response_header_timeout = cfg.response_header_timeout;
  t.idle_conn_timeout = cfg.idle_conn_timeout;
  t.max_idle_per_host = cfg.max_idle_conns_per_host > 0 ? static_cast<size_t>(cfg.max_idle_conns_per_host) : 0;
}

struct Cached {
  config::ServersTransport cfg;
  bool with_tls = false;
  std::weak_ptr<const UpstreamTransport> transport;
  std::vector<std::string> problems;
};

}  // namespace

std::shared_ptr<const UpstreamTransport> make_upstream_transport(const std::string& name,
                                                                 const config::ServersTransport& cfg,
                                                                 bool with_tls,
                                                                 std::vector<std::string>* problems) {
  static std::mutex mutex;
  static std::map<std::string, Cached> cache;
  static uint64_t serial = 0;
  std::lock_guard lock(mutex);
  std::erase_if(cache, [](const auto& kv) { return kv.second.transport.expired(); });
  if (auto it = cache.find(name); it != cache.end() && it->second.cfg == cfg && it->second.with_tls == with_tls) {
    if (auto alive = it->second.transport.lock()) {
      if (problems) problems->insert(problems->end(), it->second.problems.begin(), it->second.problems.end());
      return alive;
    }
  }
  std::vector<std::string> found;
  auto t = std::make_shared<UpstreamTransport>();
  t->name = name;
  t->serial = ++serial;
  apply_settings(*t, cfg);
  if (with_tls) t->tls = client_context("serversTransport " + (name.empty() ? "default" : name), cfg, &found);
  if (problems) problems->insert(problems->end(), found.begin(), found.end());
  cache[name] = Cached{cfg, with_tls, t, std::move(found)};
  return t;
}

std::shared_ptr<const UpstreamTransport> make_client_transport(const std::string& label,
                                                               const config::ServersTransport& cfg,
                                                               bool with_tls, const std::string& cert,
                                                               const std::string& key, std::string* error) {
  auto t = std::make_shared<UpstreamTransport>();
  t->name = label;
  apply_settings(*t, cfg);
  if (!with_tls) return t;
  std::vector<std::string> problems;
  t->tls = client_context(label, cfg, &problems);
  if (!problems.empty()) return *error = problems.front(), nullptr;
  if (!cert.empty()) {
    std::string why = use_client_certificate(*t->tls, cert, key);
    if (!why.empty()) return *error = label + ": tls " + why, nullptr;
  }
  return t;
}

}  // namespace portier::proxy
