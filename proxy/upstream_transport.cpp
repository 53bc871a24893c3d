#include "proxy/upstream_transport.hpp"

#include <openssl/ssl.h>

#include <map>
#include <mutex>
#include <openssl/x509.h>

#include "tls/openssl_ptr.hpp"

namespace portier::proxy {
namespace {

std::unique_ptr<boost::asio::ssl::context> client_context(const std::string& label,
                                                          const config::ServersTransport& cfg,
                                                          std::vector<std::string>* problems) {
  auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // portier speaks HTTP/1.1 to https upstreams (HTTP/2 clients are translated).
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(native, kAlpn, sizeof kAlpn);
  if (cfg.insecure_skip_verify) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_verify_paths(native);  // no system roots: rootCAs alone may still do
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  for (const auto& source : cfg.root_cas) {
    std::string pem, error;
    std::string what = tls::looks_like_pem(source) ? "inline certificate" : source;
    if (!tls::read_pem_source(source, pem, error)) {
      if (problems) problems->push_back(label + ": rootCAs " + what + ": " + error);
      continue;
    }
    auto certs = tls::load_certificates_pem(pem, error);
    if (certs.empty() && problems) problems->push_back(label + ": rootCAs " + what + ": " + error);
    for (auto& c : certs) X509_STORE_add_cert(store, c.get());  // duplicates are ignored
  }
  return ctx;
}

// Loads the client certificate chain and key into `ctx`. "" or what failed.
std::string use_client_certificate(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  std::string pem, error;
  if (!tls::read_pem_source(cert, pem, error)) return "cert: " + error;
  auto chain = tls::load_certificates_pem(pem, error);
  if (chain.empty()) return "cert: " + error;
  if (!tls::read_pem_source(key, pem, error)) return "key: " + error;
  auto pkey = tls::load_private_key_pem(pem, error);
  if (!pkey) return "key: " + error;
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) return "cert: " + tls::openssl_errors();
  for (size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) return "cert: " + tls::openssl_errors();
  if (SSL_CTX_use_PrivateKey(ctx, pkey.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return "key: does not match the certificate";
  return "";
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
    std::string why = use_client_certificate(t->tls->native_handle(), cert, key);
    if (!why.empty()) return *error = label + ": tls " + why, nullptr;
  }
  return t;
}

}  // namespace portier::proxy
