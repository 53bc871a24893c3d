// `headers`: custom request/response headers (an empty value removes) and the security
// headers, HSTS only on TLS requests unless forceSTSHeader. As in Traefik, where each headers
// middleware edits the response on its way back, the first middleware of a chain has the last
// word on a response header: a later one does not override what an earlier one set or removed.
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

class HeadersMiddleware final : public Middleware {
 public:
  explicit HeadersMiddleware(config::HeadersMw spec) : spec_(std::move(spec)) {
    if (spec_.sts_seconds > 0 || spec_.force_sts_header) {
      sts_ = "max-age=" + std::to_string(spec_.sts_seconds);
      if (spec_.sts_include_subdomains) sts_ += "; includeSubDomains";
      if (spec_.sts_preload) sts_ += "; preload";
    }
  }

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits& response) const override {
    for (const auto& [name, value] : spec_.custom_request_headers) {
      if (value.empty()) request.headers.remove_header(name);
      else request.headers.set_header(name, value);
    }
    HeaderEdits mine;
    for (const auto& [name, value] : spec_.custom_response_headers) {
      if (value.empty()) mine.remove_header(name);
      else mine.set_header(name, value);
    }
    if (!sts_.empty() && (ctx.tls || spec_.force_sts_header)) mine.set_header("Strict-Transport-Security", sts_);
    if (!spec_.custom_frame_options_value.empty()) mine.set_header("X-Frame-Options", spec_.custom_frame_options_value);
    else if (spec_.frame_deny) mine.set_header("X-Frame-Options", "DENY");
    if (spec_.content_type_nosniff) mine.set_header("X-Content-Type-Options", "nosniff");
    if (!spec_.custom_browser_xss_value.empty()) mine.set_header("X-XSS-Protection", spec_.custom_browser_xss_value);
    else if (spec_.browser_xss_filter) mine.set_header("X-XSS-Protection", "1; mode=block");
    if (!spec_.referrer_policy.empty()) mine.set_header("Referrer-Policy", spec_.referrer_policy);
    if (!spec_.content_security_policy.empty()) mine.set_header("Content-Security-Policy", spec_.content_security_policy);
    if (!spec_.permissions_policy.empty()) mine.set_header("Permissions-Policy", spec_.permissions_policy);
    // Earlier middlewares win (see the top of this file).
    for (auto& [name, value] : mine.set)
      if (!response.touches(name)) response.set_header(std::move(name), std::move(value));
    for (auto& name : mine.remove)
      if (!response.touches(name)) response.remove_header(std::move(name));
    return std::nullopt;
  }

 private:
  config::HeadersMw spec_;
  std::string sts_;
};

}  // namespace

MiddlewarePtr make_headers_middleware(const config::HeadersMw& spec) {
  return std::make_shared<HeadersMiddleware>(spec);
}

}  // namespace portier::proxy
