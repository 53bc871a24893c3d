#pragma once
// ServerContext: the server SSL_CTX of a TLS entrypoint. Certificates are chosen per handshake
// from the CertStore in a ClientHello callback (SNI: exact, wildcard, default), which also
// applies the tls.options policy of that SNI (versions, TLS 1.2 suites, curves, ALPN,
// sniStrict, client certificates). Session tickets use the shared TicketKeyRing; OCSP
// responses cached in the CertStore are stapled.
//
// Threads: built on the control thread, immutable afterwards; any worker may call new_ssl()
// concurrently. Each SSL holds a reference to the SSL_CTX and the CTX owns the callback state,
// so a ServerContext replaced by a newer one stays valid for the connections that use it.
// The CertStore must outlive every SSL created here.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/dynamic.hpp"
#include "core/error.hpp"
#include "tls/acme_challenges.hpp"
#include "tls/cert_store.hpp"
#include "tls/openssl_ptr.hpp"
#include "tls/ticket_keys.hpp"
#include "tls/tls_policy.hpp"

namespace portier::tls {

struct ServerContextConfig {
  // tls.options; the entry "default" (when present) is the policy for hosts without options.
  std::map<std::string, config::TlsOptions> options;
  // Host name (exact or "*.suffix") -> tls.options name, from routers' Host()/HostSNI()
  // names and tls.options. A host claimed by two different options falls back to "default"
  // (as in Traefik) and is reported.
  std::vector<std::pair<std::string, std::string>> host_options;
  // ALPN protocols offered when an options entry sets none (server preference order).
  std::vector<std::string> default_alpn = {"h2", "http/1.1"};
  // TLS-ALPN-01 answers (tlsChallenge); null when no resolver uses it. Outlives the context.
  const AcmeChallenges* challenges = nullptr;
};

class ServerContext {
 public:
  // Problems are appended (paths "tls.options.…"); the context is still built with the
  // failing fields at their defaults. Null only when OpenSSL cannot create an SSL_CTX.
  static std::shared_ptr<ServerContext> create(CertStore& store, std::shared_ptr<TicketKeyRing> keys,
                                               const ServerContextConfig& config, core::Problems& problems);

  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* native() const { return ctx_.get(); }
  // A server-side SSL (accept state) with no BIO yet. Any thread.
  SslPtr new_ssl() const;
  TlsPolicyPtr policy_for(std::string_view sni) const;

  struct Shared;  // callback state owned by the SSL_CTX (server_context.cpp)

 private:
  explicit ServerContext(SslCtxPtr ctx, Shared* shared) : ctx_(std::move(ctx)), shared_(shared) {}
  SslCtxPtr ctx_;
  Shared* shared_;  // owned by ctx_ (freed with the last SSL_CTX reference)
};

// After (or during) a handshake on an SSL made by a ServerContext, any thread owning it:
// The SNI the client sent, lowercased, no trailing dot; "" when none.
std::string sni_of(const SSL* ssl);
// The negotiated ALPN protocol; "http/1.1" when the client offered none; "acme-tls/1" after a
// TLS-ALPN-01 validation handshake (the connection is then closed without reading).
std::string_view alpn_of(const SSL* ssl);
// The certificate served; null before the ClientHello was processed.
CertEntryPtr served_cert(const SSL* ssl);
// The tls.options policy applied; null before the ClientHello was processed.
TlsPolicyPtr policy_of(const SSL* ssl);

}  // namespace portier::tls
