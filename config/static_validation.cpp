#include "config/static_validation.hpp"

#include <algorithm>
#include <tuple>

#include "config/yaml_util.hpp"

namespace portier::config {

namespace {

using Proto = EntryPoint::Protocol;

const std::string kEntryPoints = "entryPoints";
const std::string kResolvers = "certificatesResolvers";

// Two hosts on the same port and protocol that cannot both be bound.
bool hosts_overlap(const std::string& a, const std::string& b) {
  auto all = [](const std::string& h) { return h.empty() || h == "::"; };
  if (a == b || all(a) || all(b)) return true;
  if (a == "0.0.0.0") return is_ipv4(b);
  if (b == "0.0.0.0") return is_ipv4(a);
  return false;
}

std::string binding_text(const std::string& host, const EntryPoint& ep) {
  return "port " + std::to_string(ep.port) + (ep.protocol == Proto::udp ? "/udp" : "/tcp") +
         (host.empty() ? std::string(" on all addresses") : " on " + host);
}

void validate_bindings(const StaticConfig& c, const std::map<std::string, int>& lines,
                       core::Problems& problems) {
  std::vector<const EntryPoint*> eps;
  for (const auto& [name, ep] : c.entry_points) eps.push_back(&ep);
  // Only entrypoints on the same port and protocol can collide: compare within those groups
  // (name order kept), not every pair (a dynamic port range makes thousands of entrypoints).
  std::stable_sort(eps.begin(), eps.end(), [](const EntryPoint* a, const EntryPoint* b) {
    return std::tie(a->port, a->protocol) < std::tie(b->port, b->protocol);
  });
  for (size_t i = 0; i < eps.size(); ++i) {
    for (size_t j = i + 1; j < eps.size() && eps[j]->port == eps[i]->port && eps[j]->protocol == eps[i]->protocol;
         ++j) {
      const EntryPoint& a = *eps[i];
      const EntryPoint& b = *eps[j];
      if (a.port == 0) continue;
      for (const auto& ha : a.hosts) {
        auto hb = std::find_if(b.hosts.begin(), b.hosts.end(),
                               [&](const std::string& h) { return hosts_overlap(ha, h); });
        if (hb == b.hosts.end()) continue;
        // Report on the one written in the file when only one of them is.
        const EntryPoint& at = (b.from_infra && !a.from_infra) ? a : b;
        const EntryPoint& other = (&at == &a) ? b : a;
        const std::string path = child_path(kEntryPoints, at.name) + ".address";
        problems.push_back({path,
                            binding_text(ha, a) + " is also bound by entrypoint \"" + other.name +
                                "\"" + (other.from_infra ? " (from infra)" : ""),
                            line_at(lines, path)});
        break;
      }
    }
  }
}

// http.tls.domains are requested from the entrypoint's certResolver, so they need one, and a
// wildcard needs its DNS-01 challenge (Traefik: "ACME needs a DNSChallenge").
void validate_tls_domains(const StaticConfig& c, const EntryPoint& ep, const std::string& path,
                          const std::map<std::string, int>& lines, core::Problems& problems) {
  if (ep.tls_domains.empty()) return;
  if (ep.tls_cert_resolver.empty()) {
    problems.push_back({path, "has no effect without http.tls.certResolver", line_at(lines, path)});
    return;
  }
  auto resolver = c.cert_resolvers.find(ep.tls_cert_resolver);
  if (resolver == c.cert_resolvers.end() || resolver->second.dns_challenge) return;
  for (const auto& d : ep.tls_domains) {
    std::vector<std::string> names = d.sans;
    names.insert(names.begin(), d.main);
    for (const auto& name : names)
      if (name.rfind("*.", 0) == 0)
        problems.push_back({path, "wildcard \"" + name + "\" needs a certificate resolver with dnsChallenge",
                            line_at(lines, path)});
  }
}

}  // namespace

int line_at(const std::map<std::string, int>& lines, const std::string& path) {
  auto it = lines.find(path);
  return it == lines.end() ? 0 : it->second;
}

void validate_diagnostics(const StaticConfig& c, const std::string& origin,
                          const std::map<std::string, int>& lines, core::Problems& problems) {
  const int line = line_at(lines, origin);
  std::string error;
  auto hp = parse_host_port(c.diagnostics_address, error);
  if (!hp) {
    problems.push_back({origin, error, line});
  } else if (!is_loopback_host(hp->host) && !c.diagnostics_allow_public) {
    problems.push_back({origin,
                        "\"" + c.diagnostics_address +
                            "\" is not a loopback address; set diagnostics.allowPublic: true "
                            "to expose diagnostics there",
                        line});
  }
}

void validate_entry_points(const StaticConfig& c, const std::map<std::string, int>& lines,
                           core::Problems& problems) {
  for (const auto& [name, ep] : c.entry_points) {
    const std::string path = child_path(kEntryPoints, name);
    if (ep.redirection) {
      const std::string p = path + ".http.redirections.entryPoint.to";
      const std::string& to = ep.redirection->to;
      auto target = c.entry_points.find(to);
      if (!to.empty() && to.front() == ':') {
        problems.push_back({p, "a port as redirect target is not supported; name an entrypoint",
                            line_at(lines, p)});
      } else if (target == c.entry_points.end()) {
        problems.push_back(
            {p, "redirect target entrypoint \"" + to + "\" does not exist", line_at(lines, p)});
      } else if (to == name) {
        problems.push_back({p, "an entrypoint cannot redirect to itself", line_at(lines, p)});
      } else if (target->second.protocol != Proto::tcp) {
        problems.push_back(
            {p, "redirect target \"" + to + "\" is a UDP entrypoint", line_at(lines, p)});
      }
    }
    if (!ep.tls_cert_resolver.empty() && !c.cert_resolvers.count(ep.tls_cert_resolver)) {
      const std::string p = path + ".http.tls.certResolver";
      problems.push_back({p, "certificate resolver \"" + ep.tls_cert_resolver + "\" does not exist",
                          line_at(lines, p)});
    }
    validate_tls_domains(c, ep, path + ".http.tls.domains", lines, problems);
  }
  validate_bindings(c, lines, problems);
}

void validate_resolvers(StaticConfig& c, const std::map<std::string, int>& lines,
                        core::Problems& problems) {
  for (auto& [name, cr] : c.cert_resolvers) {
    if (cr.storage.empty()) cr.storage = c.state_directory + "/acme.json";
    if (cr.dns_challenge && cr.dns_challenge->provider == "cloudflare" &&
        c.infra.cf_dns_api_token.empty()) {
      const std::string p = child_path(kResolvers, name) + ".acme.dnsChallenge";
      problems.push_back({p,
                          "the cloudflare provider needs an API token (CF_DNS_API_TOKEN, "
                          "CF_DNS_API_TOKEN_FILE, infra.cf_dns_api_token or --cf-dns-token)",
                          line_at(lines, p)});
    }
    if (cr.http_challenge) {
      const std::string p = child_path(kResolvers, name) + ".acme.httpChallenge.entryPoint";
      const std::string& ep = cr.http_challenge->entry_point;
      auto it = c.entry_points.find(ep);
      if (it == c.entry_points.end())
        problems.push_back({p, "entrypoint \"" + ep + "\" does not exist", line_at(lines, p)});
      else if (it->second.protocol != EntryPoint::Protocol::tcp || ep.rfind("tcp-", 0) == 0)
        problems.push_back({p, "entrypoint \"" + ep + "\" does not serve HTTP", line_at(lines, p)});
    }
  }
}

}  // namespace portier::config
