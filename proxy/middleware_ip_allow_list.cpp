// ipAllowList (and its deprecated spelling ipWhiteList): answers rejectStatusCode (403) with the
// status text when the client address chosen by ipStrategy is not in sourceRange, as Traefik.
#include "proxy/http_errors.hpp"
#include "proxy/ip_strategy.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

class IpAllowListMiddleware final : public Middleware {
 public:
  IpAllowListMiddleware(IpRanges allowed, IpStrategy strategy, int status)
      : allowed_(std::move(allowed)), strategy_(std::move(strategy)), status_(status) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits&,
                                       HeaderEdits&) const override {
    std::string ip = strategy_.reads_forwarded_for()
                         ? strategy_.client_ip(ctx.client_ip, forwarded_for(ctx.head, ctx.trusted))
                         : strategy_.client_ip(ctx.client_ip, {});
    if (allowed_.contains(ip)) return std::nullopt;
    LocalReply reply;
    reply.status = status_;
    reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    reply.body = std::string(reason_phrase(status_));
    return reply;
  }

 private:
  IpRanges allowed_;
  IpStrategy strategy_;
  int status_;
};

}  // namespace

MiddlewarePtr make_ip_allow_list_middleware(const config::IpAllowListMw& spec, std::string* error) {
  if (spec.source_range.empty()) return *error = "sourceRange is empty", nullptr;
  int status = spec.reject_status_code == 0 ? 403 : spec.reject_status_code;
  if (!known_status(status))
    return *error = "rejectStatusCode " + std::to_string(status) + " is not an HTTP status", nullptr;
  auto allowed = IpRanges::parse(spec.source_range, error);
  if (!allowed) return *error = "sourceRange: " + *error, nullptr;
  auto strategy = IpStrategy::make(spec.ip_strategy, error);
  if (!strategy) return nullptr;
  return std::make_shared<IpAllowListMiddleware>(std::move(*allowed), std::move(*strategy), status);
}

}  // namespace portier::proxy
