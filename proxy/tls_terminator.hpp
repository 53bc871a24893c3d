#pragma once
// TLS termination for TCP routers without passthrough: the server handshake with the same
// certificate store and tls.options as the HTTP side, then plaintext to the backend.
#include <chrono>

#include "core/snapshot.hpp"
#include "proxy/tcp_session.hpp"
#include "proxy/tls_context.hpp"

namespace portier::proxy {

// `contexts` outlives every session using the returned hook.
TlsTerminator make_tls_terminator(core::Snapshot<TlsContext>& contexts, std::chrono::milliseconds handshake_timeout);

}  // namespace portier::proxy
