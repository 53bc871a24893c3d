// `stripPrefix` (sets X-Forwarded-Prefix) and `addPrefix`: rewrite the forwarded path.
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

class StripPrefix final : public Middleware {
 public:
  explicit StripPrefix(config::StripPrefixMw spec) : spec_(std::move(spec)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request, HeaderEdits&) const override {
    for (const auto& prefix : spec_.prefixes) {
      if (prefix.empty() || ctx.path.substr(0, prefix.size()) != prefix) continue;
      std::string rest(ctx.path.substr(prefix.size()));
      if (rest.empty() || rest.front() != '/') rest.insert(rest.begin(), '/');
      request.path = std::move(rest);
      request.headers.set_header("X-Forwarded-Prefix", prefix);
      break;
    }
    return std::nullopt;
  }

 private:
  config::StripPrefixMw spec_;
};

class AddPrefix final : public Middleware {
 public:
  explicit AddPrefix(config::AddPrefixMw spec) : spec_(std::move(spec)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request, HeaderEdits&) const override {
    request.path = spec_.prefix + std::string(ctx.path);
    return std::nullopt;
  }

 private:
  config::AddPrefixMw spec_;
};

}  // namespace

MiddlewarePtr make_strip_prefix_middleware(const config::StripPrefixMw& spec) {
  return std::make_shared<StripPrefix>(spec);
}

MiddlewarePtr make_add_prefix_middleware(const config::AddPrefixMw& spec) {
  return std::make_shared<AddPrefix>(spec);
}

}  // namespace portier::proxy
