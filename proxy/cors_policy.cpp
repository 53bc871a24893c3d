#include "proxy/cors_policy.hpp"

#include <algorithm>

namespace portier::proxy {
namespace {

// Go's strings.Join(list, ","), and whether "*" is listed.
std::string joined(const std::vector<std::string>& list, bool* star) {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) out.append(i ? "," : "").append(list[i]);
  *star = std::find(list.begin(), list.end(), "*") != list.end();
  return out;
}

}  // namespace

std::unique_ptr<CorsPolicy> CorsPolicy::make(const config::HeadersMw& spec, std::string* error) {
  std::unique_ptr<CorsPolicy> p(new CorsPolicy(spec));
  for (const auto& text : spec.access_control_allow_origin_list_regex) {
    auto re = std::make_unique<RE2>(text, RE2::Quiet);
    if (!re->ok()) {
      *error = "accessControlAllowOriginListRegex: invalid regex " + text + ": " + re->error();
      return nullptr;
    }
    p->origin_regexes_.push_back(std::move(re));
  }
  p->defined_ = spec.access_control_allow_credentials || !spec.access_control_allow_headers.empty() ||
                !spec.access_control_allow_methods.empty() ||
                !spec.access_control_allow_origin_list.empty() ||
                !spec.access_control_allow_origin_list_regex.empty() ||
                !spec.access_control_expose_headers.empty() || spec.access_control_max_age >= 0 ||
                spec.add_vary_header;
  p->allow_headers_ = joined(spec.access_control_allow_headers, &p->any_header_);
  p->allow_methods_ = joined(spec.access_control_allow_methods, &p->any_method_);
  p->expose_headers_ = joined(spec.access_control_expose_headers, &p->any_exposed_);
  return p;
}

// The list in order ("*" answers "*", or the origin itself with credentials, which forbid the
// wildcard), then the regexes (unanchored, as Go's MatchString). An empty origin can match.
std::optional<std::string> CorsPolicy::match(std::string_view origin) const {
  for (const auto& item : spec_.access_control_allow_origin_list) {
    if (item == origin) return item;
    if (item == "*") return spec_.access_control_allow_credentials ? std::string(origin) : item;
  }
  for (const auto& re : origin_regexes_)
    if (RE2::PartialMatch(origin, *re)) return std::string(origin);
  return std::nullopt;
}

void CorsPolicy::expose_headers(HeaderList& out) const {
  if (!expose_headers_.empty() && !(any_exposed_ && spec_.access_control_allow_credentials))
    out.emplace_back("Access-Control-Expose-Headers", expose_headers_);
}

LocalReply CorsPolicy::preflight(std::string_view origin, std::string_view request_method,
                                 std::string_view request_headers) const {
  LocalReply r;
  r.status = 200;
  auto& h = r.headers;
  bool credentials = spec_.access_control_allow_credentials;
  if (credentials) h.emplace_back("Access-Control-Allow-Credentials", "true");
  if (any_header_ && credentials) {
    if (!request_headers.empty()) h.emplace_back("Access-Control-Allow-Headers", std::string(request_headers));
  } else if (!allow_headers_.empty()) {
    h.emplace_back("Access-Control-Allow-Headers", allow_headers_);
  }
  if (any_method_ && credentials)
    h.emplace_back("Access-Control-Allow-Methods", std::string(request_method));
  else if (!allow_methods_.empty())
    h.emplace_back("Access-Control-Allow-Methods", allow_methods_);
  if (auto allowed = match(origin)) h.emplace_back("Access-Control-Allow-Origin", std::move(*allowed));
  if (spec_.access_control_max_age >= 0)
    h.emplace_back("Access-Control-Max-Age", std::to_string(spec_.access_control_max_age));
  expose_headers(h);
  return r;
}

HeaderList CorsPolicy::response_fields(std::string_view origin) const {
  HeaderList fields;
  if (auto allowed = match(origin)) fields.emplace_back("Access-Control-Allow-Origin", std::move(*allowed));
  if (spec_.access_control_allow_credentials) fields.emplace_back("Access-Control-Allow-Credentials", "true");
  expose_headers(fields);
  return fields;
}

std::string CorsPolicy::with_origin(std::string_view current) {
  if (current == "Origin") return std::string(current);
  return current.empty() ? std::string("Origin") : std::string(current) + ",Origin";
}

}  // namespace portier::proxy
