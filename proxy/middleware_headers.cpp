// `headers`, as Traefik v3 composes it: its CORS and custom-header handler first (a preflight is
// answered there; customRequestHeaders edit the request), then unrolled/secure's checks and
// headers (allowedHosts, the security headers, HSTS and HPKP only on requests it deems HTTPS).
// On the way back the custom response headers override the security ones, then the CORS
// fields are set. As in Traefik, where each headers middleware edits the response on its way
// back, the first middleware of a chain has the last word on a response header: a later one
// does not override what an earlier one set or removed. Request headers are read as Traefik's
// middleware sees them: with the earlier middlewares' edits and the X-Forwarded-* values the
// entrypoint sets (proxy/forwarding.hpp).
#include "proxy/cors_policy.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

// The request's field `name` after the edits planned so far ("" when absent or removed).
std::string request_header(const RequestContext& ctx, const RequestEdits& edits, std::string_view name) {
  for (const auto& [k, v] : edits.headers.set)
    if (iequals(k, name)) return v;
  for (const auto& k : edits.headers.remove)
    if (iequals(k, name)) return {};
  if (iequals(name, "host")) return std::string(ctx.head.host);
  if (auto v = forwarded_value(name, ctx.head, ctx.tls, ctx.trusted, ctx.client_ip)) return *v;
  return std::string(find_header(ctx.head.headers, name));
}

// The relayed value a response phase sees for `name`: a planned edit, else the upstream's first.
std::string_view response_header(const ResponseHead& resp, const HeaderEdits& edits, std::string_view name) {
  for (const auto& [k, v] : edits.set)
    if (iequals(k, name)) return v;
  for (const auto& k : edits.remove)
    if (iequals(k, name)) return {};
  return find_header(resp.headers, name);
}

class HeadersMiddleware final : public Middleware {
 public:
  explicit HeadersMiddleware(config::HeadersMw spec) : spec_(std::move(spec)) {
    if (spec_.sts_seconds != 0) {
      sts_ = "max-age=" + std::to_string(spec_.sts_seconds);
      if (spec_.sts_include_subdomains) sts_ += "; includeSubDomains";
      if (spec_.sts_preload) sts_ += "; preload";
    }
  }
  // Compiles the origin regexes; false (and *error) when one is invalid.
  bool compile(std::string* error) {
    cors_ = CorsPolicy::make(spec_, error);
    return cors_ != nullptr;
  }

  unsigned phases() const override {
    return kRequestPhase | (spec_.add_vary_header ? kResponseHeadPhase : 0u);
  }

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits& response) const override {
    if (cors_->defined()) {
      std::string origin = request_header(ctx, request, "Origin");
      std::string method = request_header(ctx, request, "Access-Control-Request-Method");
      if (CorsPolicy::is_preflight(ctx.head.method, origin, method))
        return cors_->preflight(origin, method, request_header(ctx, request, "Access-Control-Request-Headers"));
    }
    for (const auto& [name, value] : spec_.custom_request_headers) {
      if (value.empty()) request.headers.remove_header(name);
      else request.headers.set_header(name, value);
    }
    if (!host_allowed(ctx, request)) return bad_host(ctx, request);
    HeaderEdits mine;
    security_headers(is_https(ctx, request), mine);
    own_response_fields(ctx, request, mine);
    // Earlier middlewares win (see the top of this file).
    for (auto& [name, value] : mine.set)
      if (!response.touches(name)) response.set_header(std::move(name), std::move(value));
    for (auto& name : mine.remove)
      if (!response.touches(name)) response.remove_header(std::move(name));
    return std::nullopt;
  }

  // addVaryHeader: Origin joins the response's Vary (the upstream's, or as edited).
  void on_response_head(const ResponseHead& resp, HeaderEdits& response) const override {
    response.set_header("Vary", CorsPolicy::with_origin(response_header(resp, response, "Vary")));
  }

 private:
  // allowedHosts (unless isDevelopment): the request's host, or the first non-empty field of
  // hostsProxyHeaders, must equal one of them ignoring case (a port is part of the host).
  bool host_allowed(const RequestContext& ctx, const RequestEdits& request) const {
    if (spec_.allowed_hosts.empty() || spec_.is_development) return true;
    std::string host = request_header(ctx, request, "Host");
    for (const auto& name : spec_.hosts_proxy_headers) {
      if (auto v = request_header(ctx, request, name); !v.empty()) {
        host = std::move(v);
        break;
      }
    }
    for (const auto& allowed : spec_.allowed_hosts)
      if (iequals(allowed, host)) return true;
    return false;
  }

  // unrolled/secure's answer to a host not allowed (Go's http.Error), with this middleware's
  // own response fields, which Traefik applies to it too.
  LocalReply bad_host(const RequestContext& ctx, const RequestEdits& request) const {
    HeaderEdits own;
    own_response_fields(ctx, request, own);
    if (spec_.add_vary_header) {
      std::string_view vary;
      for (const auto& [k, v] : own.set)
        if (iequals(k, "vary")) vary = v;
      own.set_header("Vary", CorsPolicy::with_origin(vary));
    }
    LocalReply r{500, {}, "Bad Host\n"};
    for (auto [name, value] : {std::pair{"Content-Type", "text/plain; charset=utf-8"},
                               std::pair{"X-Content-Type-Options", "nosniff"}})
      if (!own.touches(name)) r.headers.emplace_back(name, value);
    r.headers.insert(r.headers.end(), own.set.begin(), own.set.end());
    return r;
  }

  // TLS, or a sslProxyHeaders field with its value (Go: a missing field reads "").
  bool is_https(const RequestContext& ctx, const RequestEdits& request) const {
    if (ctx.tls) return true;
    for (const auto& [name, value] : spec_.ssl_proxy_headers)
      if (request_header(ctx, request, name) == value) return true;
    return false;
  }

  void security_headers(bool https, HeaderEdits& out) const {
    bool dev = spec_.is_development;
    if (!sts_.empty() && (https || spec_.force_sts_header) && !dev) out.set_header("Strict-Transport-Security", sts_);
    if (!spec_.custom_frame_options_value.empty()) out.set_header("X-Frame-Options", spec_.custom_frame_options_value);
    else if (spec_.frame_deny) out.set_header("X-Frame-Options", "DENY");
    if (spec_.content_type_nosniff) out.set_header("X-Content-Type-Options", "nosniff");
    if (!spec_.custom_browser_xss_value.empty()) out.set_header("X-XSS-Protection", spec_.custom_browser_xss_value);
    else if (spec_.browser_xss_filter) out.set_header("X-XSS-Protection", "1; mode=block");
    if (!spec_.public_key.empty() && https && !dev) out.set_header("Public-Key-Pins", spec_.public_key);
    if (!spec_.content_security_policy.empty()) out.set_header("Content-Security-Policy", spec_.content_security_policy);
    if (!spec_.content_security_policy_report_only.empty())
      out.set_header("Content-Security-Policy-Report-Only", spec_.content_security_policy_report_only);
    if (!spec_.referrer_policy.empty()) out.set_header("Referrer-Policy", spec_.referrer_policy);
    if (!spec_.permissions_policy.empty()) out.set_header("Permissions-Policy", spec_.permissions_policy);
  }

  // customResponseHeaders ("" removes), then the CORS fields of an actual response.
  void own_response_fields(const RequestContext& ctx, const RequestEdits& request, HeaderEdits& out) const {
    for (const auto& [name, value] : spec_.custom_response_headers) {
      if (value.empty()) out.remove_header(name);
      else out.set_header(name, value);
    }
    if (!cors_->defined()) return;
    for (auto& [name, value] : cors_->response_fields(request_header(ctx, request, "Origin")))
      out.set_header(std::move(name), std::move(value));
  }

  config::HeadersMw spec_;
  std::string sts_;
  std::unique_ptr<CorsPolicy> cors_;  // points into spec_
};

}  // namespace

MiddlewarePtr make_headers_middleware(const config::HeadersMw& spec, std::string* error) {
  auto mw = std::make_shared<HeadersMiddleware>(spec);
  if (!mw->compile(error)) return nullptr;
  return mw;
}

}  // namespace portier::proxy
