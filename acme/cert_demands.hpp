#pragma once
// Which ACME certificates the merged dynamic configuration wants. Pure functions.
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"

namespace portier::acme {

struct CertDemand {
  std::string resolver;
  std::vector<std::string> names;  // main first, lowercase, deduplicated
  std::string router;              // first router (by name) that asked for it
  bool operator==(const CertDemand&) const = default;
};

// Routers (HTTP, and TCP without passthrough) whose tls names a certificate resolver, and,
// when `cfg` is given, HTTP routers without a tls of their own on entrypoints whose http.tls has
// a certResolver (Traefik's entrypoint model, config/entry_point_model.hpp): one demand per
// tls.domains entry {main, sans…}; without domains, one demand holding the Host()/HostSNI()
// names of the rule. Demands with the same resolver and names are merged. Sorted by resolver
// then names.
std::vector<CertDemand> certificate_demands(const config::Dynamic& merged,
                                            const config::StaticConfig* cfg = nullptr);

// Whether a certificate for `cert_names` serves `name`: exact (case-insensitive) or, for a
// non-wildcard name, through "*.parent" (one label). A wildcard `name` needs that wildcard.
bool names_cover(const std::vector<std::string>& cert_names, std::string_view name);

}  // namespace portier::acme
