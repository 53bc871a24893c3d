#pragma once
// What a reverse proxy changes on the way through, shared by the HTTP/1.1 and HTTP/2 sides:
// hop-by-hop removal, X-Forwarded-* headers, the upstream request head (server choice is
// proxy/service_choice.hpp). Worker thread; no state of its own.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "config/static_config.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/middleware.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::tls {
struct TlsPolicy;
}

namespace portier::proxy {

class Worker;
struct ListenerInfo;

// Who sent the request and over what: decides the X-Forwarded-* values. One per client
// connection, made when it is accepted; the TLS facts are filled once its handshake is done,
// by the codec that owns it (set_handshake() for TCP TLS, the HTTP/3 connection for QUIC), and
// are what every request on it reads: the pipeline's 421 check, the access log and metrics,
// passTLSClientCert. Empty on cleartext.
struct ClientInfo {
  std::string_view ip;
  boost::asio::ip::address address;
  bool tls = false;
  bool trusted = false;  // forwardedHeaders.trustedIPs / insecure: keep its X-Forwarded-*
  uint16_t port = 0;     // the client's TCP (or UDP, HTTP/3) port (access log)
  // The tls.options policy the handshake applied (by SNI); null on cleartext or when no TLS
  // configuration was loaded. Owned by the TLS session (the SSL's handshake state, the QUIC
  // connection's QuicTlsRef), which outlives the requests of the connection.
  const tls::TlsPolicy* tls_policy = nullptr;
  // The OpenSSL session of a TCP TLS connection (its client certificates); null on
  // cleartext and on QUIC (GnuTLS, which does not ask for client certificates).
  const SSL* ssl = nullptr;
  std::string_view tls_version;  // "1.3", "1.2", ...: static text, "" on cleartext
  std::string_view tls_cipher;   // the IANA suite name, as Go's tls.CipherSuiteName: static text
};

// Whether the entrypoint trusts this client's forwarding headers.
bool is_trusted_client(const config::EntryPoint& ep, const boost::asio::ip::address& client);
// The ClientInfo of a connection from `client` accepted by `listener`; `ip` is the client's
// address in text and must outlive the result.
ClientInfo client_info(const tcp::endpoint& client, std::string_view ip, const ListenerInfo& listener);
// Fills the TLS facts of `client` from the finished handshake of `ssl` (an SSL made by the
// entrypoint's tls::ServerContext, which then outlives `client`'s use).
void set_handshake(ClientInfo& client, const SSL* ssl);
// OpenSSL's protocol version as the access log writes it ("1.3"); "unknown" otherwise.
std::string_view tls_version_text(int version);

// The value portier sends upstream for a forwarding header (X-Forwarded-For, -Proto, -Host,
// -Port, -Server, X-Real-Ip; any case), before middleware edits: the client's own when the
// entrypoint trusts it and it sent one (X-Forwarded-For: the client's list plus its address),
// else portier's. nullopt for any other name.
std::optional<std::string> forwarded_value(std::string_view name, const RequestHead& head,
                                           bool tls, bool trusted, std::string_view client_ip);

// The HTTP/1.1 request head sent upstream for `head` (framing from head.body), with the
// middlewares' edits (path, headers) applied when given.
std::string build_upstream_head(const RequestHead& head, const ServiceRuntime& svc,
                                const UpstreamServer& server, const ClientInfo& client,
                                const RequestEdits* edits = nullptr);
// Appends the planned header edits (set headers) to a head being built; a Host among them
// is not appended (build_upstream_head sends it as the request's Host).
void append_header_edits(std::string& out, const HeaderEdits& edits);

}  // namespace portier::proxy
