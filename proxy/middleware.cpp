#include "proxy/middleware.hpp"

#include <algorithm>

#include "proxy/header_fields.hpp"

namespace portier::proxy {

bool HeaderEdits::touches(std::string_view name) const {
  for (const auto& [k, v] : set)
    if (iequals(k, name)) return true;
  for (const auto& k : remove)
    if (iequals(k, name)) return true;
  return false;
}

bool HeaderEdits::drops(std::string_view name, std::string_view value) const {
  if (touches(name)) return true;
  if (drop_cookies.empty() || !iequals(name, "set-cookie")) return false;
  auto cookie = set_cookie_name(value);
  return std::find(drop_cookies.begin(), drop_cookies.end(), cookie) != drop_cookies.end();
}

void HeaderEdits::set_header(std::string name, std::string value) {
  std::erase_if(set, [&](const auto& kv) { return iequals(kv.first, name); });
  set.emplace_back(std::move(name), std::move(value));
}

void HeaderEdits::remove_header(std::string name) {
  std::erase_if(set, [&](const auto& kv) { return iequals(kv.first, name); });
  remove.push_back(std::move(name));
}

std::string request_scheme(bool tls) { return tls ? "https" : "http"; }

MiddlewarePtr make_middleware(const config::MiddlewareSpec& spec, std::string* error) {
  struct Make {
    std::string* error;
    MiddlewarePtr operator()(const config::HeadersMw& m) const { return make_headers_middleware(m, error); }
    MiddlewarePtr operator()(const config::BufferingMw& m) const { return make_buffering_middleware(m); }
    MiddlewarePtr operator()(const config::RedirectSchemeMw& m) const { return make_redirect_scheme_middleware(m); }
    MiddlewarePtr operator()(const config::RedirectRegexMw& m) const { return make_redirect_regex_middleware(m, error); }
    MiddlewarePtr operator()(const config::StripPrefixMw& m) const { return make_strip_prefix_middleware(m); }
    MiddlewarePtr operator()(const config::AddPrefixMw& m) const { return make_add_prefix_middleware(m); }
    MiddlewarePtr operator()(const config::BasicAuthMw& m) const { return make_basic_auth_middleware(m, error); }
    MiddlewarePtr operator()(const config::IpAllowListMw& m) const { return make_ip_allow_list_middleware(m, error); }
    MiddlewarePtr operator()(const config::IpWhiteListMw& m) const {
      return make_ip_allow_list_middleware(config::IpAllowListMw{m.source_range, m.ip_strategy, 0}, error);
    }
    MiddlewarePtr operator()(const config::RateLimitMw& m) const { return make_rate_limit_middleware(m, error); }
    MiddlewarePtr operator()(const config::InFlightReqMw& m) const { return make_in_flight_req_middleware(m, error); }
    MiddlewarePtr operator()(const config::PassTlsClientCertMw& m) const {
      return make_pass_tls_client_cert_middleware(m);
    }
    MiddlewarePtr operator()(const config::ForwardAuthMw& m) const { return make_forward_auth_middleware(m, error); }
    MiddlewarePtr operator()(const config::DigestAuthMw& m) const { return make_digest_auth_middleware(m, error); }
    MiddlewarePtr operator()(const config::ReplacePathMw& m) const { return make_replace_path_middleware(m); }
    MiddlewarePtr operator()(const config::ReplacePathRegexMw& m) const {
      return make_replace_path_regex_middleware(m, error);
    }
    MiddlewarePtr operator()(const config::StripPrefixRegexMw& m) const {
      return make_strip_prefix_regex_middleware(m, error);
    }
    MiddlewarePtr operator()(const config::CompressMw& m) const { return make_compress_middleware(m, error); }
    MiddlewarePtr operator()(const config::RetryMw& m) const { return make_retry_middleware(m, error); }
    MiddlewarePtr operator()(const config::CircuitBreakerMw& m) const {
      return make_circuit_breaker_middleware(m, error);
    }
    MiddlewarePtr operator()(const config::ErrorsMw& m) const { return make_errors_middleware(m, error); }
    MiddlewarePtr operator()(const config::ContentTypeMw& m) const { return make_content_type_middleware(m); }
    MiddlewarePtr operator()(const config::GrpcWebMw& m) const { return make_grpc_web_middleware(m, error); }
    MiddlewarePtr operator()(const config::ChainMw&) const {
      *error = "chain is expanded by expand_middlewares";
      return nullptr;
    }
  };
  return std::visit(Make{error}, spec);
}

namespace {
bool expand(const std::string& name, const std::map<std::string, config::Middleware>& all,
            std::vector<MiddlewarePtr>& out, int depth, std::string* error) {
  auto it = all.find(name);
  if (it == all.end()) {
    *error = "middleware \"" + name + "\" does not exist";
    return false;
  }
  if (depth > 32) {
    *error = "middleware chain through \"" + name + "\" is too deep";
    return false;
  }
  if (const auto* chain = std::get_if<config::ChainMw>(&it->second.spec)) {
    for (const auto& member : chain->middlewares)
      if (!expand(member, all, out, depth + 1, error)) return false;
    return true;
  }
  auto mw = make_middleware(it->second.spec, error);
  if (!mw) {
    *error = "middleware \"" + name + "\": " + *error;
    return false;
  }
  out.push_back(std::move(mw));
  return true;
}
}  // namespace

std::vector<MiddlewarePtr> expand_middlewares(const std::vector<std::string>& names,
                                              const std::map<std::string, config::Middleware>& all,
                                              std::string* error) {
  std::vector<MiddlewarePtr> out;
  for (const auto& name : names)
    if (!expand(name, all, out, 0, error)) return {};
  return out;
}

}  // namespace portier::proxy
