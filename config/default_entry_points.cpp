#include "config/default_entry_points.hpp"

#include <algorithm>

namespace portier::config {

std::vector<std::string> default_entry_points(const StaticConfig& cfg) {
  const bool marked = std::any_of(cfg.entry_points.begin(), cfg.entry_points.end(),
                                  [](const auto& kv) { return kv.second.as_default; });
  std::vector<std::string> names;
  for (const auto& [name, ep] : cfg.entry_points)
    if ((!marked || ep.as_default) && ep.protocol != EntryPoint::Protocol::udp && name != "traefik")
      names.push_back(name);
  return names;  // std::map order: sorted
}

void assign_default_entry_points(Dynamic& dyn, const StaticConfig& cfg) {
  const std::vector<std::string> names = default_entry_points(cfg);
  const auto non_udp = std::count_if(cfg.entry_points.begin(), cfg.entry_points.end(), [](const auto& kv) {
    return kv.second.protocol != EntryPoint::Protocol::udp;
  });
  if (static_cast<size_t>(non_udp) == names.size()) return;
  auto fill = [&](auto& routers) {
    for (auto& [name, router] : routers)
      if (router.entry_points.empty()) router.entry_points = names;
  };
  fill(dyn.http.routers);
  fill(dyn.tcp.routers);
}

}  // namespace portier::config
