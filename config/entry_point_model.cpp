#include "config/entry_point_model.hpp"

#include <algorithm>

namespace portier::config {

bool router_on(const std::vector<std::string>& entry_points, const std::string& name) {
  return entry_points.empty() || std::find(entry_points.begin(), entry_points.end(), name) != entry_points.end();
}

std::vector<RouterTls> entry_point_tls(const HttpRouter& router, const StaticConfig& cfg) {
  std::vector<RouterTls> out;
  if (router.tls) return out;
  for (const auto& [name, ep] : cfg.entry_points) {
    if (!ep.tls || !ep.serves_http() || !router_on(router.entry_points, name)) continue;
    RouterTls tls;
    tls.cert_resolver = ep.tls_cert_resolver;
    tls.options = ep.tls_options;
    tls.domains = ep.tls_domains;
    out.push_back(std::move(tls));
  }
  return out;
}

}  // namespace portier::config
