#include "proxy/request_source.hpp"

namespace portier::proxy {

std::optional<RequestSource> RequestSource::make(const std::optional<config::SourceCriterion>& spec,
                                                 Default fallback, std::string* error) {
  RequestSource s;
  s.kind_ = fallback == Default::host ? Kind::host : Kind::ip;
  if (!spec) return s;
  int set = (spec->ip_strategy ? 1 : 0) + (spec->request_header_name.empty() ? 0 : 1) +
            (spec->request_host ? 1 : 0);
  if (set > 1) {
    *error = "sourceCriterion: ipStrategy, requestHeaderName and requestHost are mutually exclusive";
    return std::nullopt;
  }
  if (spec->ip_strategy) {
    auto strategy = IpStrategy::make(spec->ip_strategy, error);
    if (!strategy) {
      *error = "sourceCriterion." + *error;
      return std::nullopt;
    }
    s.kind_ = Kind::ip;
    s.strategy_ = std::move(*strategy);
  } else if (!spec->request_header_name.empty()) {
    s.kind_ = Kind::header;
    s.header_ = spec->request_header_name;
  } else if (spec->request_host) {
    s.kind_ = Kind::host;
  }
  return s;
}

std::string RequestSource::key(const RequestContext& ctx) const {
  switch (kind_) {
    case Kind::host:
      return std::string(ctx.head.host);
    case Kind::header:
      for (const auto& h : ctx.head.headers)
        if (iequals(h.name, header_)) return std::string(h.value);
      return {};
    case Kind::ip:
      break;
  }
  if (!strategy_.reads_forwarded_for()) return strategy_.client_ip(ctx.client_ip, {});
  return strategy_.client_ip(ctx.client_ip, forwarded_for(ctx.head, ctx.trusted));
}

}  // namespace portier::proxy
