// forwardAuth, as Traefik: every request is first asked about at the authentication server
// (Authelia, Authentik, oauth2-proxy). The request goes there as a GET (or its own method with
// preserveRequestMethod) with the client's headers and X-Forwarded-* (see
// build_auth_request_head), without a body unless forwardBody: then the body is read whole
// first (kRequestBodyPhase), a body over maxBodySize is answered 401 without asking, and the
// auth server gets it as the client framed it. headerField names the answer's field whose
// value is the access log's ClientUsername (whatever the answer). A 2xx answer lets the request through, with the headers named by
// authResponseHeaders / authResponseHeadersRegex copied from the answer onto it (replacing
// the request's own) and, with addAuthCookiesToResponse, the answer's cookies of those names
// added to the response. Any other answer goes back to the client as the server sent it:
// status, headers (a relative Location made absolute unless preserveLocationHeader) and body;
// with authSigninURL a 401 becomes a 302 there. No answer (unreachable, timeout, a broken
// answer) is 500, never a pass; a body over maxResponseBodySize is 401.
// The exchange runs on the request's worker over its pooled connections (send_subrequest),
// bounded by 30 s as Traefik's client. The address is resolved when the middleware is built
// (control thread), as services' servers are.
#include <re2/re2.h>

#include <algorithm>

#include "config/http_token.hpp"
#include "core/log.hpp"
#include "proxy/forward_auth_request.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/middleware.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/server_address.hpp"
#include "proxy/subrequest.hpp"
#include "proxy/upstream_transport.hpp"

namespace portier::proxy {
namespace {

constexpr std::chrono::milliseconds kTimeout{30000};  // Traefik's http.Client timeout

LocalReply plain_reply(int status, std::string body) {
  LocalReply reply;
  reply.status = status;
  if (!body.empty()) reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  reply.body = std::move(body);
  return reply;
}

class ForwardAuthMiddleware final : public Middleware {
 public:
  ForwardAuthMiddleware(const config::ForwardAuthMw& spec, ForwardAuthAddress address,
                        std::optional<UpstreamServer> server, std::unique_ptr<RE2> regex)
      : spec_(spec), address_(std::move(address)), server_(std::move(server)), regex_(std::move(regex)) {}

  unsigned phases() const override {
    return kAsyncRequestPhase | (spec_.forward_body ? kRequestBodyPhase : 0u);
  }
  BodyFirst body_first() const override { return {spec_.max_body_size, 401}; }

  awaitable<std::optional<LocalReply>> on_request_async(const RequestContext& ctx,
                                                        RequestEdits& request,
                                                        HeaderEdits& response,
                                                        Worker& worker) const override {
    if (!server_) {
      core::log_warn("forwardAuth: cannot resolve ", spec_.address);
      co_return plain_reply(500, error_body(500));
    }
    std::string head = build_auth_request_head(ctx, spec_, address_);
    bool head_request = spec_.preserve_request_method && ctx.head.method == "HEAD";
    std::string body;
    if (ctx.body) {
      body.resize(ctx.body->size());
      if (ctx.body->read(0, body.data(), body.size()) != body.size()) {
        core::log_warn("forwardAuth: the request body could not be read back");
        co_return plain_reply(500, error_body(500));
      }
    }
    SubrequestResult auth = co_await send_subrequest(worker, *server_, head, head_request,
                                                     spec_.max_response_body_size, kTimeout, body);
    if (!spec_.header_field.empty())
      for (const auto& [name, value] : auth.headers)
        if (iequals(name, spec_.header_field)) {
          request.user = value;
          break;
        }
    if (auth.status == 0) {
      core::log_warn("forwardAuth: calling ", spec_.address, ": ", auth.error);
      co_return plain_reply(500, error_body(500));
    }
    if (auth.too_large) co_return plain_reply(401, "");
    if (auth.status == 401 && !spec_.auth_signin_url.empty()) {
      LocalReply reply = plain_reply(302, "");
      reply.headers.emplace_back("Location", spec_.auth_signin_url);
      co_return reply;
    }
    if (auth.status < 200 || auth.status >= 300) co_return denial(std::move(auth));
    copy_listed_headers(auth, request.headers);
    if (regex_) copy_matching_headers(ctx, auth, request.headers);
    add_cookies(auth, response);
    co_return std::nullopt;
  }

 private:
  // The auth server's answer as the client gets it (the codec frames the body).
  LocalReply denial(SubrequestResult auth) const {
    LocalReply reply;
    reply.status = auth.status;
    for (auto& [name, value] : auth.headers) {
      if (is_hop_by_hop(name, "") || iequals(name, "content-length")) continue;
      if (iequals(name, "location") && !spec_.preserve_location_header)
        value = resolve_location(address_, value);
      reply.headers.emplace_back(std::move(name), std::move(value));
    }
    reply.body = std::move(auth.body);
    return reply;
  }

  // authResponseHeaders: each replaces the request's field of that name (removed when the
  // answer has none).
  void copy_listed_headers(const SubrequestResult& auth, HeaderEdits& edits) const {
    for (const auto& name : spec_.auth_response_headers) {
      edits.remove_header(name);
      for (const auto& [k, v] : auth.headers)
        if (iequals(k, name)) edits.set.emplace_back(name, v);
    }
  }

  // authResponseHeadersRegex (matched against canonical names, as in Go): the request's
  // matching fields are removed, the answer's are copied.
  void copy_matching_headers(const RequestContext& ctx, const SubrequestResult& auth,
                             HeaderEdits& edits) const {
    auto matches = [&](std::string_view name) {
      return RE2::PartialMatch(config::canonical_header_name(name), *regex_);
    };
    for (const auto& h : ctx.head.headers)
      if (matches(h.name)) edits.remove_header(std::string(h.name));
    std::vector<std::string> earlier;
    for (const auto& [k, v] : edits.set)
      if (matches(k)) earlier.push_back(k);
    for (auto& name : earlier) edits.remove_header(std::move(name));
    for (const auto& [k, v] : auth.headers)
      if (matches(k)) edits.set.emplace_back(k, v);
  }

  // addAuthCookiesToResponse: when the answer sets cookies, the response's own cookies of the
  // listed names are replaced by the answer's (Traefik's response modifier).
  void add_cookies(const SubrequestResult& auth, HeaderEdits& response) const {
    const auto& names = spec_.add_auth_cookies_to_response;
    if (names.empty()) return;
    bool any = false;
    for (const auto& [k, v] : auth.headers) {
      if (!iequals(k, "set-cookie") || set_cookie_name(v).empty()) continue;
      any = true;
      if (std::find(names.begin(), names.end(), set_cookie_name(v)) != names.end())
        response.add.emplace_back("Set-Cookie", v);
    }
    if (any) response.drop_cookies.insert(response.drop_cookies.end(), names.begin(), names.end());
  }

  config::ForwardAuthMw spec_;
  ForwardAuthAddress address_;
  std::optional<UpstreamServer> server_;  // none: the address did not resolve (500, logged)
  std::unique_ptr<RE2> regex_;
};

// The auth server as an upstream: endpoint, transport (TLS settings) and pool key.
std::optional<UpstreamServer> auth_server(const config::ForwardAuthMw& spec,
                                          const ForwardAuthAddress& address, std::string* error) {
  ParsedUrl url;
  UpstreamServer server;
  if (!parse_url(address.origin, url)) return *error = "address has no usable host", std::nullopt;
  if (!resolve(url.host, url.port, server.endpoint)) {
    core::log_warn("forwardAuth: cannot resolve ", url.host, " (answering 500 until it does)");
    return std::nullopt;
  }
  config::ServersTransport cfg;
  config::ForwardAuthTls tls = spec.tls.value_or(config::ForwardAuthTls{});
  if (!tls.ca.empty()) cfg.root_cas.push_back(tls.ca);
  cfg.insecure_skip_verify = tls.insecure_skip_verify;
  bool https = address.scheme == "https";
  server.transport = make_client_transport("forwardAuth " + spec.address, cfg, https, tls.cert, tls.key, error);
  if (!server.transport) return std::nullopt;
  server.url = address.origin;
  server.scheme = address.scheme;
  server.authority = address.authority;
  std::string ip = server.endpoint.address().to_string() + ":" + std::to_string(url.port);
  if (https) {
    server.tls_name = url.host;
    boost::system::error_code ec;
    boost::asio::ip::make_address(url.host, ec);
    server.tls_name_is_ip = !ec;
  }
  // A transport of its own: its connections are pooled apart from every other's.
  char tag[32];
  std::snprintf(tag, sizeof tag, "%p", static_cast<const void*>(server.transport.get()));
  server.pool_key = "forwardAuth " + address.scheme + "://" + server.tls_name + "@" + ip + "#" + tag;
  return server;
}

}  // namespace

MiddlewarePtr make_forward_auth_middleware(const config::ForwardAuthMw& spec, std::string* error) {
  ForwardAuthAddress address;
  if (auto why = parse_forward_auth_address(spec.address, address); !why.empty())
    return *error = why, nullptr;
  std::unique_ptr<RE2> regex;
  if (!spec.auth_response_headers_regex.empty()) {
    regex = std::make_unique<RE2>(spec.auth_response_headers_regex, RE2::Quiet);
    if (!regex->ok())
      return *error = "authResponseHeadersRegex: " + regex->error(), nullptr;
  }
  error->clear();
  auto server = auth_server(spec, address, error);
  if (!error->empty()) return nullptr;
  return std::make_shared<ForwardAuthMiddleware>(spec, std::move(address), std::move(server),
                                                 std::move(regex));
}

}  // namespace portier::proxy
