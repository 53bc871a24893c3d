#pragma once
// The CORS half of the `headers` middleware, as Traefik v3 answers (pkg/middlewares/headers):
// a preflight (OPTIONS with Origin and Access-Control-Request-Method) gets 200 and the
// Access-Control-* fields without reaching the service; any other response gets
// Access-Control-Allow-Origin when the origin matches, -Allow-Credentials, -Expose-Headers and,
// with addVaryHeader, Origin appended to Vary. Immutable once built; any thread.
#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {

class CorsPolicy {
 public:
  // Null (and *error set) when an accessControlAllowOriginListRegex entry does not compile.
  static std::unique_ptr<CorsPolicy> make(const config::HeadersMw& spec, std::string* error);

  // Whether any CORS field is set (Traefik then answers preflights, even with no field to send).
  bool defined() const { return defined_; }
  static bool is_preflight(std::string_view method, std::string_view origin,
                           std::string_view request_method) {
    return method == "OPTIONS" && !origin.empty() && !request_method.empty();
  }
  // The preflight answer: 200, no body. `request_headers` is Access-Control-Request-Headers.
  LocalReply preflight(std::string_view origin, std::string_view request_method,
                       std::string_view request_headers) const;
  // The fields an actual response gets (set after the custom response headers).
  HeaderList response_fields(std::string_view origin) const;
  // Vary once Origin is added to `current` (the response's first Vary value), as Traefik:
  // unchanged when it is exactly "Origin", else ",Origin" appended.
  static std::string with_origin(std::string_view current);

 private:
  explicit CorsPolicy(const config::HeadersMw& spec) : spec_(spec) {}
  // The Access-Control-Allow-Origin value for `origin`, or nullopt when it is not allowed.
  std::optional<std::string> match(std::string_view origin) const;
  void expose_headers(HeaderList& out) const;

  const config::HeadersMw& spec_;  // owned by the middleware that owns this policy
  std::vector<std::unique_ptr<RE2>> origin_regexes_;
  bool defined_ = false;
  std::string allow_headers_, allow_methods_, expose_headers_;  // comma-joined
  bool any_header_ = false, any_method_ = false, any_exposed_ = false;  // "*" listed
};

}  // namespace portier::proxy
