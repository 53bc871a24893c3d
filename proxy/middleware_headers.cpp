// `headers`: custom request/response headers (an empty value removes) and the security
// headers, HSTS only on TLS requests unless forceSTSHeader.
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
    for (const auto& [name, value] : spec_.custom_response_headers) {
      if (value.empty()) response.remove_header(name);
      else response.set_header(name, value);
    }
    if (!sts_.empty() && (ctx.tls || spec_.force_sts_header)) response.set_header("Strict-Transport-Security", sts_);
    if (!spec_.custom_frame_options_value.empty()) response.set_header("X-Frame-Options", spec_.custom_frame_options_value);
    else if (spec_.frame_deny) response.set_header("X-Frame-Options", "DENY");
    if (spec_.content_type_nosniff) response.set_header("X-Content-Type-Options", "nosniff");
    if (!spec_.custom_browser_xss_value.empty()) response.set_header("X-XSS-Protection", spec_.custom_browser_xss_value);
    else if (spec_.browser_xss_filter) response.set_header("X-XSS-Protection", "1; mode=block");
    if (!spec_.referrer_policy.empty()) response.set_header("Referrer-Policy", spec_.referrer_policy);
    if (!spec_.content_security_policy.empty()) response.set_header("Content-Security-Policy", spec_.content_security_policy);
    if (!spec_.permissions_policy.empty()) response.set_header("Permissions-Policy", spec_.permissions_policy);
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
