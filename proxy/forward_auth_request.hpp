#pragma once
// The pieces of forwardAuth that are plain text work (no I/O), apart so they can be tested and
// fuzzed: the auth server's address taken apart, the authentication request head built from
// the client's request (Traefik's header rules), and a relative Location resolved against the
// address.
#include <string>
#include <string_view>

#include "config/dynamic.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {

struct ForwardAuthAddress {
  std::string scheme;     // http or https
  std::string origin;     // "http://auth:9091" as written
  std::string authority;  // the Host header: "auth:9091"
  std::string target;     // origin-form path and query ("/" at least); no fragment
};

// "" or what is wrong with `url`.
std::string parse_forward_auth_address(std::string_view url, ForwardAuthAddress& out);

// The request head for the auth server (GET unless preserveRequestMethod; framing for
// ctx.body when forwardBody read it, else no body): the
// client's headers without hop-by-hop ones, Host, Content-Length and Expect, filtered by
// authRequestHeaders; X-Forwarded-* of a peer portier does not trust (forwardedHeaders) are
// dropped. X-Forwarded-For, -Method, -Proto, -Port, -Host and -Uri are set from the request,
// or, with trustForwardHeader, kept as a trusted peer sent them (X-Forwarded-For appended).
// Several Cookie fields (HTTP/2) are joined into one.
std::string build_auth_request_head(const RequestContext& ctx, const config::ForwardAuthMw& spec,
                                    const ForwardAuthAddress& address);

// `location` as an absolute URL, relative ones resolved against the address (Go's
// Response.Location).
std::string resolve_location(const ForwardAuthAddress& address, std::string_view location);

}  // namespace portier::proxy
