// `replacePath` and `replacePathRegex` (X-Replaced-Path: the path they replaced) and
// `stripPrefixRegex` (X-Forwarded-Prefix: the prefix it stripped), as Traefik. They work on
// the path as the client sent it (percent-encoded; the query is kept). replacePathRegex
// replaces every match (Go's ReplaceAllString); stripPrefixRegex strips the first expression's
// match when the path starts with it. A regex rewrite that leaves dot segments or "//" in the
// path is refused with 400, as Traefik refuses a path url.JoinPath would change.
#include <re2/re2.h>

#include "config/value_parsers.hpp"
#include "proxy/go_template.hpp"
#include "proxy/http_errors.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

constexpr const char* kReplacedPath = "X-Replaced-Path";
constexpr const char* kForwardedPrefix = "X-Forwarded-Prefix";

std::string with_leading_slash(std::string path) {
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  return path;
}

// What Go's path.Clean leaves unchanged (a trailing slash kept, as url.JoinPath keeps it).
bool is_clean_path(std::string_view path) {
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    std::string_view segment = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    bool last = slash == std::string_view::npos || slash + 1 == path.size();
    if (segment == "." || segment == "..") return false;
    if (segment.empty() && start > 0 && !last) return false;  // "//"
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

std::optional<LocalReply> bad_request() {
  LocalReply reply;
  reply.status = 400;
  reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  reply.body = error_body(400);
  return reply;
}

std::unique_ptr<RE2> compile(std::string_view text, std::string* error) {
  auto re = std::make_unique<RE2>(text, RE2::Quiet);
  if (re->ok()) return re;
  *error = "invalid regex \"" + std::string(text) + "\": " + re->error();
  return nullptr;
}

class ReplacePath final : public Middleware {
 public:
  explicit ReplacePath(std::string path) : path_(std::move(path)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request, HeaderEdits&) const override {
    request.headers.set_header(kReplacedPath, std::string(ctx.path));
    request.path = with_leading_slash(path_);
    return std::nullopt;
  }

 private:
  std::string path_;
};

class ReplacePathRegex final : public Middleware {
 public:
  ReplacePathRegex(std::unique_ptr<RE2> re, std::string rewrite) : re_(std::move(re)), rewrite_(std::move(rewrite)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request, HeaderEdits&) const override {
    if (!RE2::PartialMatch(ctx.path, *re_)) return std::nullopt;
    std::string path(ctx.path);
    RE2::GlobalReplace(&path, *re_, rewrite_);
    path = with_leading_slash(std::move(path));
    if (!is_clean_path(path)) return bad_request();
    request.headers.set_header(kReplacedPath, std::string(ctx.path));
    request.path = std::move(path);
    return std::nullopt;
  }

 private:
  std::unique_ptr<RE2> re_;
  std::string rewrite_;
};

class StripPrefixRegex final : public Middleware {
 public:
  explicit StripPrefixRegex(std::vector<std::unique_ptr<RE2>> expressions) : expressions_(std::move(expressions)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request, HeaderEdits&) const override {
    for (const auto& re : expressions_) {
      re2::StringPiece match;
      if (!re->Match(ctx.path, 0, ctx.path.size(), RE2::UNANCHORED, &match, 1)) continue;
      std::string_view prefix(match.data(), match.size());
      if (prefix.empty() || !ctx.path.starts_with(prefix)) continue;
      std::string path = with_leading_slash(std::string(ctx.path.substr(prefix.size())));
      if (!is_clean_path(path)) return bad_request();
      request.headers.set_header(kForwardedPrefix, std::string(prefix));
      request.path = std::move(path);
      break;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::unique_ptr<RE2>> expressions_;
};

}  // namespace

MiddlewarePtr make_replace_path_middleware(const config::ReplacePathMw& spec) {
  return std::make_shared<ReplacePath>(spec.path);
}

MiddlewarePtr make_replace_path_regex_middleware(const config::ReplacePathRegexMw& spec, std::string* error) {
  auto re = compile(config::trim(spec.regex), error);
  if (!re) return nullptr;
  std::string problem;
  std::string rewrite = go_template_to_rewrite(config::trim(spec.replacement), *re, &problem);
  if (!problem.empty()) {
    *error = problem;
    return nullptr;
  }
  return std::make_shared<ReplacePathRegex>(std::move(re), std::move(rewrite));
}

MiddlewarePtr make_strip_prefix_regex_middleware(const config::StripPrefixRegexMw& spec, std::string* error) {
  std::vector<std::unique_ptr<RE2>> expressions;
  for (const auto& text : spec.regex) {
    auto re = compile(config::trim(text), error);
    if (!re) return nullptr;
    expressions.push_back(std::move(re));
  }
  return std::make_shared<StripPrefixRegex>(std::move(expressions));
}

}  // namespace portier::proxy
