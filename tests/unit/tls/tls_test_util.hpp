#pragma once
// Test fixtures for tests/unit/tls: generated keys and certificates, and in-memory handshakes
// between a ServerContext and an OpenSSL client over a BIO pair.
#include <openssl/err.h>

#include <string>
#include <vector>

#include "tls/cert_store.hpp"
#include "tls/openssl_ptr.hpp"
#include "tls/self_signed.hpp"
#include "tls/server_context.hpp"

namespace portier::tls::test {

struct Issued {
  X509Ptr cert;
  EvpPkeyPtr key;
};

inline Issued issue(const std::vector<std::string>& names, const std::string& cn = "",
                    KeyKind kind = KeyKind::ec_p256, const Issued* ca = nullptr, bool is_ca = false,
                    const std::string& ocsp_url = "") {
  std::string error;
  Issued out;
  out.key = generate_key(kind, error);
  CertRequest req;
  req.common_name = cn.empty() && !names.empty() ? names.front() : cn;
  req.dns_names = names;
  req.is_ca = is_ca;
  req.ocsp_url = ocsp_url;
  req.not_before_offset_days = -1;
  if (ca) {
    req.issuer_cert = ca->cert.get();
    req.issuer_key = ca->key.get();
  }
  out.cert = make_certificate(out.key.get(), req, error);
  return out;
}

inline CertEntryPtr entry_for(const std::vector<std::string>& names, const std::string& source = "file",
                              KeyKind kind = KeyKind::ec_p256) {
  Issued i = issue(names, "", kind);
  std::vector<X509Ptr> chain;
  chain.push_back(std::move(i.cert));
  return make_cert_entry(std::move(chain), std::move(i.key), source).entry;
}

inline SslCtxPtr client_ctx(int min_version = 0, int max_version = 0) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (min_version) SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  if (max_version) SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  return ctx;
}

struct Connection {
  SslPtr server;
  SslPtr client;
  bool ok = false;
  std::string errors;  // each side's OpenSSL errors when its handshake failed
};

// Runs both sides until they finish or one fails. `alpn` in wire format ("\x02h2").
inline Connection handshake(const ServerContext& server, SSL_CTX* cctx, const std::string& sni,
                            const std::string& alpn = "", SSL_SESSION* session = nullptr,
                            bool want_ocsp = false) {
  Connection c;
  c.server = server.new_ssl();
  c.client.reset(SSL_new(cctx));
  BIO* sb = nullptr;
  BIO* cb = nullptr;
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(c.server.get(), sb, sb);
  SSL_set_bio(c.client.get(), cb, cb);
  SSL_set_connect_state(c.client.get());
  if (!sni.empty()) SSL_set_tlsext_host_name(c.client.get(), sni.c_str());
  if (!alpn.empty())
    SSL_set_alpn_protos(c.client.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  if (session) SSL_set_session(c.client.get(), session);
  if (want_ocsp) SSL_set_tlsext_status_type(c.client.get(), TLSEXT_STATUSTYPE_ocsp);
  ERR_clear_error();
  bool client_done = false, server_done = false, failed = false;
  // Returns false on a fatal error of that side.
  auto step = [&c](SSL* ssl, bool& done) {
    int r = SSL_do_handshake(ssl);
    if (r == 1) return done = true;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    c.errors += (ssl == c.server.get() ? "server: " : "client: ") + openssl_errors() + "\n";
    return false;
  };
  for (int round = 0; round < 50 && !failed && !(client_done && server_done); ++round) {
    if (!client_done && !step(c.client.get(), client_done)) {
      failed = true;
      if (!server_done) step(c.server.get(), server_done);  // let it read the alert
    } else if (!server_done && !step(c.server.get(), server_done)) {
      failed = true;
      if (!client_done) step(c.client.get(), client_done);
    }
  }
  c.ok = client_done && server_done;
  return c;
}

// Server writes, client reads: lets the client process TLS 1.3 NewSessionTicket messages.
inline bool exchange(Connection& c) {
  if (SSL_write(c.server.get(), "ping", 4) != 4) return false;
  char buf[8];
  return SSL_read(c.client.get(), buf, sizeof buf) == 4;
}

inline bool served(const Connection& c, const CertEntryPtr& e) {
  X509* peer = SSL_get0_peer_certificate(c.client.get());
  return peer && e && X509_cmp(peer, e->leaf.get()) == 0;
}

}  // namespace portier::tls::test
