#pragma once
// Client TLS contexts for connections portier opens to servers: HTTP upstreams (https://) and
// TCP servers with `tls: true`. Built on the control thread (CA and certificate files are read
// from disk), immutable afterwards; OpenSSL allows SSL objects to be created from one SSL_CTX
// on several threads at once.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace portier::proxy {

// TLS >= 1.2. With `insecure_skip_verify` no verification; otherwise peer verification against
// the system roots plus `root_cas` (paths or inline PEM). Sources that cannot be loaded are
// reported in *problems as "LABEL: rootCAs ...: why" and left out. `alpn`: ALPN protocols in
// wire format ("" = none offered).
std::unique_ptr<boost::asio::ssl::context> make_client_tls_context(const std::string& label, bool insecure_skip_verify,
                                                                   const std::vector<std::string>& root_cas,
                                                                   std::string_view alpn,
                                                                   std::vector<std::string>* problems);

// Loads a client certificate chain and its key (PEM file paths or inline PEM) into `ctx`.
// "" or what failed ("cert: ...", "key: ...").
std::string use_client_certificate(boost::asio::ssl::context& ctx, const std::string& cert, const std::string& key);

// Before a client handshake: SNI `name` (not for IP literals nor ""), and with `verify` the
// name (or IP) the server's certificate must match.
void set_server_name(SSL* ssl, const std::string& name, bool name_is_ip, bool verify);

// Why a client handshake failed: "TLS handshake: ERROR" plus OpenSSL's verification error.
std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace portier::proxy
