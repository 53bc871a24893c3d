#include "acme/cert_demands.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "config/entry_point_model.hpp"
#include "config/rule.hpp"

namespace portier::acme {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// DNS names an ACME CA can issue for: labels of letters, digits, '-', an optional leading
// "*." and at least one dot (IP literals and bracketed IPv6 are refused).
bool issuable(const std::string& name) {
  std::string_view n = name;
  if (n.substr(0, 2) == "*.") n.remove_prefix(2);
  if (n.empty() || n.find('.') == std::string_view::npos || n.size() > 253) return false;
  bool all_digits_or_dots = true;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '-') all_digits_or_dots = false;
  }
  return !all_digits_or_dots;
}

void add_names(std::vector<std::string>& names, std::string_view name) {
  std::string n = lower(name);
  if (!issuable(n)) return;
  if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
}

struct Collector {
  std::map<std::pair<std::string, std::vector<std::string>>, std::string> demands;  // -> router

  void add(const std::string& resolver, std::vector<std::string> names, const std::string& router) {
    if (names.empty()) return;
    demands.emplace(std::make_pair(resolver, std::move(names)), router);
  }

  void router(const std::string& name, const std::string& rule, const config::RouterTls& tls, config::RuleKind kind) {
    if (tls.passthrough || tls.cert_resolver.empty()) return;
    if (!tls.domains.empty()) {
      for (const auto& d : tls.domains) {
        std::vector<std::string> names;
        add_names(names, d.main);
        for (const auto& san : d.sans) add_names(names, san);
        add(tls.cert_resolver, std::move(names), name);
      }
      return;
    }
    auto parsed = config::parse_rule(rule, kind);
    if (!parsed.root) return;
    std::vector<std::string> names;
    for (const auto& host : config::rule_host_names(*parsed.root)) add_names(names, host);
    add(tls.cert_resolver, std::move(names), name);
  }
};

}  // namespace

std::vector<CertDemand> certificate_demands(const config::Dynamic& merged, const config::StaticConfig* cfg) {
  Collector c;
  for (const auto& [name, r] : merged.http.routers) {
    if (r.tls) c.router(name, r.rule, *r.tls, config::RuleKind::http);
    if (cfg)
      for (const auto& tls : config::entry_point_tls(r, *cfg)) c.router(name, r.rule, tls, config::RuleKind::http);
  }
  for (const auto& [name, r] : merged.tcp.routers)
    if (r.tls) c.router(name, r.rule, *r.tls, config::RuleKind::tcp);
  std::vector<CertDemand> out;
  for (auto& [key, router] : c.demands) {
    CertDemand d;
    d.resolver = key.first;
    d.names = key.second;
    d.router = router;
    out.push_back(std::move(d));
  }
  return out;
}

bool names_cover(const std::vector<std::string>& cert_names, std::string_view name) {
  std::string n = lower(name);
  for (const auto& c : cert_names)
    if (lower(c) == n) return true;
  if (n.substr(0, 2) == "*.") return false;
  std::size_t dot = n.find('.');
  if (dot == std::string::npos) return false;
  std::string wildcard = "*" + n.substr(dot);
  for (const auto& c : cert_names)
    if (lower(c) == wildcard) return true;
  return false;
}

}  // namespace portier::acme
