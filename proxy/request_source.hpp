#pragma once
// sourceCriterion (rateLimit, inFlightReq): which requests share one budget. Traefik's
// extractor: the client address by an ipStrategy, a request header's value, or the Host.
#include <optional>
#include <string>

#include "config/dynamic.hpp"
#include "proxy/ip_strategy.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {

class RequestSource {
 public:
  enum class Default { client_ip, host };  // rateLimit / inFlightReq without a criterion
  // Null and *error when two criteria are set or the ipStrategy is invalid.
  static std::optional<RequestSource> make(const std::optional<config::SourceCriterion>& spec,
                                           Default fallback, std::string* error);
  // The budget key of the request ("" is a key too, as in Traefik).
  std::string key(const RequestContext& ctx) const;

 private:
  enum class Kind { ip, header, host } kind_ = Kind::ip;
  IpStrategy strategy_;
  std::string header_;
};

}  // namespace portier::proxy
