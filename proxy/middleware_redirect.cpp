// `redirectScheme` and `redirectRegex`: answer with a redirect instead of forwarding.
// Permanent: 301 for GET/HEAD, 308 otherwise; temporary: 302 / 307 (method kept).
#include <re2/re2.h>

#include "proxy/go_template.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

LocalReply redirect_reply(const RequestHead& head, bool permanent, std::string location) {
  bool get = head.method == "GET" || head.method == "HEAD";
  LocalReply r;
  r.status = permanent ? (get ? 301 : 308) : (get ? 302 : 307);
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

std::string host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') return std::string(host.substr(0, host.find(']') + 1));
  size_t colon = host.rfind(':');
  return std::string(colon == std::string_view::npos ? host : host.substr(0, colon));
}

std::string path_and_query(const RequestContext& ctx) {
  std::string out(ctx.path);
  if (!ctx.head.query.empty()) out.append("?").append(ctx.head.query);
  return out;
}

class RedirectScheme final : public Middleware {
 public:
  explicit RedirectScheme(config::RedirectSchemeMw spec) : spec_(std::move(spec)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits&, HeaderEdits&) const override {
    if (request_scheme(ctx.tls) == spec_.scheme) return std::nullopt;  // already there
    bool default_port = spec_.port.empty() || (spec_.scheme == "https" && spec_.port == "443") ||
                        (spec_.scheme == "http" && spec_.port == "80");
    std::string location = spec_.scheme + "://" + host_without_port(ctx.head.host) +
                           (default_port ? "" : ":" + spec_.port) + path_and_query(ctx);
    return redirect_reply(ctx.head, spec_.permanent, std::move(location));
  }

 private:
  config::RedirectSchemeMw spec_;
};

class RedirectRegex final : public Middleware {
 public:
  RedirectRegex(config::RedirectRegexMw spec, std::unique_ptr<RE2> re, std::string rewrite)
      : spec_(std::move(spec)), re_(std::move(re)), rewrite_(std::move(rewrite)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits&, HeaderEdits&) const override {
    std::string url = request_scheme(ctx.tls) + "://" + std::string(ctx.head.host) + path_and_query(ctx);
    if (!RE2::PartialMatch(url, *re_)) return std::nullopt;
    std::string target = url;
    RE2::Replace(&target, *re_, rewrite_);
    if (target == url) return std::nullopt;
    return redirect_reply(ctx.head, spec_.permanent, std::move(target));
  }

 private:
  config::RedirectRegexMw spec_;
  std::unique_ptr<RE2> re_;
  std::string rewrite_;
};

}  // namespace

MiddlewarePtr make_redirect_scheme_middleware(const config::RedirectSchemeMw& spec) {
  return std::make_shared<RedirectScheme>(spec);
}

MiddlewarePtr make_redirect_regex_middleware(const config::RedirectRegexMw& spec, std::string* error) {
  auto re = std::make_unique<RE2>(spec.regex, RE2::Quiet);
  if (!re->ok()) {
    *error = "invalid regex: " + re->error();
    return nullptr;
  }
  std::string problem;
  std::string rewrite = go_template_to_rewrite(spec.replacement, *re, &problem);  // Go's $1 as RE2's \1
  if (!problem.empty()) {
    *error = problem;
    return nullptr;
  }
  return std::make_shared<RedirectRegex>(spec, std::move(re), std::move(rewrite));
}

}  // namespace portier::proxy
