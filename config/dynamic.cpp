#include "config/dynamic.hpp"

namespace portier::config {

const char* middleware_type(const MiddlewareSpec& spec) {
  struct Name {
    const char* operator()(const HeadersMw&) const { return "headers"; }
    const char* operator()(const BufferingMw&) const { return "buffering"; }
    const char* operator()(const RedirectSchemeMw&) const { return "redirectScheme"; }
    const char* operator()(const RedirectRegexMw&) const { return "redirectRegex"; }
    const char* operator()(const ChainMw&) const { return "chain"; }
    const char* operator()(const StripPrefixMw&) const { return "stripPrefix"; }
    const char* operator()(const AddPrefixMw&) const { return "addPrefix"; }
    const char* operator()(const BasicAuthMw&) const { return "basicAuth"; }
    const char* operator()(const IpAllowListMw& m) const {
      return m.white_list ? "ipWhiteList" : "ipAllowList";
    }
    const char* operator()(const RateLimitMw&) const { return "rateLimit"; }
    const char* operator()(const InFlightReqMw&) const { return "inFlightReq"; }
  };
  return std::visit(Name{}, spec);
}

}  // namespace portier::config
