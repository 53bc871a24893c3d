#include "tls/server_context.hpp"

#include <openssl/err.h>
#include <openssl/tls1.h>

#include <cstring>
#include <unordered_map>

#include "core/log.hpp"

namespace portier::tls {

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PolicyMap = std::unordered_map<std::string, TlsPolicyPtr, StringHash, std::equal_to<>>;

// Per-SSL state written by the ClientHello callback (worker thread owning the SSL).
struct HandshakeState {
  CertEntryPtr entry;
  TlsPolicyPtr policy;
  bool acme_tls = false;  // a TLS-ALPN-01 validation: the challenge certificate, acme-tls/1
};

void free_handshake_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<HandshakeState*>(ptr);
}
void free_shared(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*);

int ssl_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_handshake_state);
  return index;
}
int ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_shared);
  return index;
}

HandshakeState* state_of(const SSL* ssl) { return static_cast<HandshakeState*>(SSL_get_ex_data(ssl, ssl_index())); }

// The first host_name of the server_name extension, raw; "" when absent or malformed.
std::string_view client_hello_sni(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 2) return {};
  size_t list = (size_t(p[0]) << 8) | p[1];
  if (list + 2 != len) return {};
  size_t at = 2;
  while (at + 3 <= len) {
    unsigned type = p[at];
    size_t n = (size_t(p[at + 1]) << 8) | p[at + 2];
    at += 3;
    if (at + n > len) return {};
    if (type == TLSEXT_NAMETYPE_host_name) return {reinterpret_cast<const char*>(p + at), n};
    at += n;
  }
  return {};
}

// RFC 8737 §3: a validation ClientHello offers exactly one ALPN protocol, acme-tls/1.
bool offers_only_acme_tls(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) != 1)
    return false;
  constexpr size_t n = kAcmeTlsAlpn.size();
  return len == n + 3 && ((size_t(p[0]) << 8) | p[1]) == n + 1 && p[2] == n &&
         std::string_view(reinterpret_cast<const char*>(p + 3), n) == kAcmeTlsAlpn;
}

bool apply_policy(SSL* ssl, const TlsPolicy& policy) {
  return SSL_set_min_proto_version(ssl, policy.min_version) == 1 &&
         SSL_set_max_proto_version(ssl, policy.max_version) == 1 &&
         SSL_set_cipher_list(ssl, policy.cipher_list.c_str()) == 1 &&
         (policy.groups.empty() || SSL_set1_groups_list(ssl, policy.groups.c_str()) == 1);
}

bool configure_ctx(SSL_CTX* ctx, const TlsPolicy& policy, std::chrono::seconds ticket_interval) {
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                               SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 20480);
  SSL_CTX_set_timeout(ctx, static_cast<long>(ticket_interval.count()));
  static const unsigned char sid_ctx[] = "portier";
  return SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) == 1 &&
         SSL_CTX_set_min_proto_version(ctx, policy.min_version) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, policy.max_version) == 1 &&
         SSL_CTX_set_cipher_list(ctx, policy.cipher_list.c_str()) == 1 &&
         (policy.groups.empty() || SSL_CTX_set1_groups_list(ctx, policy.groups.c_str()) == 1);
}

}  // namespace

struct ServerContext::Shared {
  CertStore* store = nullptr;
  const AcmeChallenges* challenges = nullptr;
  std::shared_ptr<TicketKeyRing> keys;
  // The certificate installed on the SSL_CTX itself, so every SSL starts with it (SSL_new
  // only takes references): a handshake that selects it skips SSL_use_cert_and_key, whose
  // key/certificate match and security checks cost ~1% of a full handshake.
  CertEntryPtr preloaded;
  TlsPolicyPtr default_policy;
  PolicyMap exact;
  PolicyMap wildcard;  // key: the suffix after "*."

  TlsPolicyPtr policy_for(std::string_view sni) const {
    if (exact.empty() && wildcard.empty()) return default_policy;
    std::string name;
    if (!normalize_host(sni, name)) return default_policy;
    if (auto it = exact.find(name); it != exact.end()) return it->second;
    auto dot = name.find('.');
    if (dot != std::string::npos && dot > 0)
      if (auto it = wildcard.find(std::string_view(name).substr(dot + 1)); it != wildcard.end()) return it->second;
    return default_policy;
  }
};

namespace {

void free_shared(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ServerContext::Shared*>(ptr);
}

ServerContext::Shared* shared_of(SSL* ssl) {
  return static_cast<ServerContext::Shared*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index()));
}

// Replaces the preloaded certificate by `e`. The preloaded one is removed first: left in its
// key-type slot (ECDSA vs RSA), OpenSSL could still choose it for a client.
bool use_entry(SSL* ssl, const CertEntry& e) {
  SSL_certs_clear(ssl);
  return SSL_use_cert_and_key(ssl, e.leaf.get(), e.key.get(), e.chain.get(), 1) == 1;
}

// The entry most handshakes are expected to select: the only tls.certificates/ACME one when
// there is exactly one, else the default certificate.
CertEntryPtr entry_to_preload(const CertStore& store) {
  CertEntryPtr def = store.default_entry();
  CertEntryPtr only;
  for (const auto& e : store.all_entries()) {
    if (e == def) continue;
    if (only) return def;
    only = e;
  }
  return only ? only : def;
}

HandshakeState& state_for(SSL* ssl) {
  HandshakeState* state = state_of(ssl);  // present again after a HelloRetryRequest
  if (!state) {
    state = new HandshakeState;
    SSL_set_ex_data(ssl, ssl_index(), state);
  }
  return *state;
}

// TLS-ALPN-01: the challenge certificate for the SNI, when one is pending and the client
// offers only acme-tls/1. False when this is not such a handshake.
bool answer_acme_tls(SSL* ssl, ServerContext::Shared& shared, std::string_view sni) {
  if (!shared.challenges || !shared.challenges->has_tls_alpn() || !offers_only_acme_tls(ssl)) return false;
  std::string name;
  if (!normalize_host(sni, name)) return false;
  CertEntryPtr cert = shared.challenges->tls_alpn_cert(name);
  if (!cert || !use_entry(ssl, *cert)) return false;
  HandshakeState& state = state_for(ssl);
  state.entry = std::move(cert);
  state.policy = shared.default_policy;
  state.acme_tls = true;
  return true;
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  auto* shared = static_cast<ServerContext::Shared*>(arg);
  std::string_view sni = client_hello_sni(ssl);
  if (answer_acme_tls(ssl, *shared, sni)) return SSL_CLIENT_HELLO_SUCCESS;
  TlsPolicyPtr policy = shared->policy_for(sni);
  CertMatch match = shared->store->find(sni);
  if (policy->sni_strict && match.match == SniMatch::fallback) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  HandshakeState* state = state_of(ssl);  // present again after a HelloRetryRequest
  // The SSL still holds the preloaded certificate unless an earlier call replaced it.
  bool installed = match.entry == shared->preloaded && (!state || state->entry == shared->preloaded);
  if ((policy != shared->default_policy && !apply_policy(ssl, *policy)) ||
      !apply_client_auth(ssl, policy->client_auth) || (!installed && !use_entry(ssl, *match.entry))) {
    core::log_error("tls: cannot prepare handshake: ", openssl_errors());
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  HandshakeState& fresh = state_for(ssl);
  fresh.entry = match.entry;
  fresh.policy = std::move(policy);
  fresh.acme_tls = false;
  return SSL_CLIENT_HELLO_SUCCESS;
}

int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
            unsigned int in_len, void* arg) {
  auto* shared = static_cast<ServerContext::Shared*>(arg);
  const HandshakeState* state = state_of(ssl);
  if (state && state->acme_tls && in_len == kAcmeTlsAlpn.size() + 1) {  // checked in the ClientHello
    *out = in + 1;
    *out_len = in[0];
    return SSL_TLSEXT_ERR_OK;
  }
  const TlsPolicy& policy = state && state->policy ? *state->policy : *shared->default_policy;
  if (policy.alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* chosen = nullptr;
  // Server preference: the first list is ours.
  int r = SSL_select_next_proto(&chosen, out_len, reinterpret_cast<const unsigned char*>(policy.alpn_wire.data()),
                                static_cast<unsigned>(policy.alpn_wire.size()), in, in_len);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;  // lenient, like Go's http/1.1 fallback
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int on_ticket_key(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                  EVP_MAC_CTX* mac, int encrypt) {
  ServerContext::Shared* shared = shared_of(ssl);
  if (!shared || !shared->keys) return encrypt ? -1 : 0;
  int r = shared->keys->handle(key_name, iv, cipher, mac, encrypt);
  // TLS 1.3: a resumed session gets a fresh ticket (2 = "renew"), as with OpenSSL's own ticket
  // keys, nginx and Go; clients use TLS 1.3 tickets once, so without it they fall back to a
  // full handshake every other connection. TLS 1.2 renews only tickets of the previous key.
  if (!encrypt && r == 1 && SSL_version(ssl) == TLS1_3_VERSION) return 2;
  return r;
}

int on_status_request(SSL* ssl, void* arg) {
  auto* shared = static_cast<ServerContext::Shared*>(arg);
  const HandshakeState* state = state_of(ssl);
  if (!state || !state->entry) return SSL_TLSEXT_ERR_NOACK;
  auto response = shared->store->ocsp_response(state->entry->id);
  if (!response || response->empty()) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(response->size()));
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, response->data(), response->size());
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(response->size()));  // takes ownership
  return SSL_TLSEXT_ERR_OK;
}

void index_hosts(ServerContext::Shared& shared, const std::map<std::string, TlsPolicyPtr>& policies,
                 const ServerContextConfig& config, core::Problems& problems) {
  std::map<std::string, std::string> chosen;  // normalized host -> options name
  std::map<std::string, bool> conflicted;
  for (const auto& [host, options] : config.host_options) {
    std::string name;
    if (!normalize_host(host, name)) continue;
    if (!policies.count(options)) {
      problems.push_back({"tls.options." + options, "unknown TLS options (used for host " + host + ")"});
      continue;
    }
    auto [it, inserted] = chosen.try_emplace(name, options);
    if (!inserted && it->second != options && !conflicted[name]) {
      conflicted[name] = true;
      problems.push_back({"tls.options", "host " + name + " has different TLS options (" + it->second + ", " +
                                             options + "): using default"});
    }
  }
  for (const auto& [name, options] : chosen) {
    const auto& policy = conflicted[name] ? shared.default_policy : policies.at(options);
    if (name.size() > 2 && name.compare(0, 2, "*.") == 0)
      shared.wildcard[name.substr(2)] = policy;
    else
      shared.exact[name] = policy;
  }
}

}  // namespace

std::shared_ptr<ServerContext> ServerContext::create(CertStore& store, std::shared_ptr<TicketKeyRing> keys,
                                                     const ServerContextConfig& config,
                                                     core::Problems& problems) {
  auto shared = std::make_unique<Shared>();
  shared->store = &store;
  shared->challenges = config.challenges;
  shared->keys = std::move(keys);
  std::map<std::string, TlsPolicyPtr> policies;
  for (const auto& [name, options] : config.options)
    policies[name] = make_policy(name, options, config.default_alpn, problems);
  if (!policies.count("default"))
    policies["default"] = make_policy("default", config::TlsOptions{}, config.default_alpn, problems);
  shared->default_policy = policies["default"];
  index_hosts(*shared, policies, config, problems);

  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  auto interval = shared->keys ? shared->keys->interval() : std::chrono::seconds(7200);
  if (!ctx || !configure_ctx(ctx.get(), *shared->default_policy, interval)) {
    problems.push_back({"tls", "cannot create the server TLS context: " + openssl_errors()});
    return nullptr;
  }
  if (!shared->keys) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  if (CertEntryPtr e = entry_to_preload(store);
      e && SSL_CTX_use_cert_and_key(ctx.get(), e->leaf.get(), e->key.get(), e->chain.get(), 1) == 1)
    shared->preloaded = std::move(e);
  ERR_clear_error();
  SSL_CTX_set_client_hello_cb(ctx.get(), on_client_hello, shared.get());
  SSL_CTX_set_alpn_select_cb(ctx.get(), on_alpn, shared.get());
  SSL_CTX_set_tlsext_status_cb(ctx.get(), on_status_request);
  SSL_CTX_set_tlsext_status_arg(ctx.get(), shared.get());
  if (shared->keys) SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx.get(), on_ticket_key);
  Shared* raw = shared.get();
  SSL_CTX_set_ex_data(ctx.get(), ctx_index(), shared.release());  // the CTX frees it
  return std::shared_ptr<ServerContext>(new ServerContext(std::move(ctx), raw));
}

SslPtr ServerContext::new_ssl() const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (ssl) SSL_set_accept_state(ssl.get());
  return ssl;
}

TlsPolicyPtr ServerContext::policy_for(std::string_view sni) const { return shared_->policy_for(sni); }

std::string sni_of(const SSL* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::string out;
  if (name) normalize_host(name, out);
  return out;
}

std::string_view alpn_of(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl, &p, &n);
  if (!p || n == 0) return "http/1.1";
  return {reinterpret_cast<const char*>(p), n};
}

CertEntryPtr served_cert(const SSL* ssl) {
  const HandshakeState* state = state_of(ssl);
  return state ? state->entry : nullptr;
}

TlsPolicyPtr policy_of(const SSL* ssl) {
  const HandshakeState* state = state_of(ssl);
  return state ? state->policy : nullptr;
}

}  // namespace portier::tls
