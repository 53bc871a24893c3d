#include "proxy/service_choice.hpp"

#include <optional>

#include "proxy/header_fields.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

bool healthy(const UpstreamServer& s) { return s.health->healthy.load(std::memory_order_relaxed); }

// The value of the sticky cookie of `svc` in the request, "" when absent.
std::string_view sticky_value(const ServiceRuntime& svc, const RequestHead& head) {
  return svc.sticky ? cookie_value(find_header(head.headers, "cookie"), svc.sticky->name) : std::string_view();
}

// Whether mirror `m` of a mirroring service gets the request numbered `n` (per worker): over
// any 100 consecutive requests exactly `percent` do, evenly spread.
bool mirror_turn(uint64_t n, int percent) {
  return (n + 1) * percent / 100 > n * percent / 100;
}

class Chooser {
 public:
  Chooser(Worker& worker, const RequestHead& head, const RuntimeConfig& rc)
      : worker_(worker), head_(head), rc_(rc) {}

  // Descends from service `index` to a server. `client`: cookies go to the client (not for the
  // copies sent to mirrors, whose responses are discarded).
  void choose(uint32_t index, bool client, ServiceChoice& out) {
    const ServiceRuntime& svc = rc_.services[index];
    switch (svc.kind) {
      case ServiceKind::load_balancer:
        return load_balancer(index, client, out);
      case ServiceKind::weighted:
        if (auto child = weighted_child(index, client, out)) return choose(*child, client, out);
        return;
      case ServiceKind::failover: {
        uint32_t main = svc.children[0], fallback = svc.children[1];
        if (service_up(rc_, main)) return choose(main, client, out);
        if (!svc.follows_health || service_up(rc_, fallback)) return choose(fallback, client, out);
        return;
      }
      case ServiceKind::mirroring:
        choose(svc.children[0], client, out);
        if (out.server) add_mirrors(index, out);
        return;
    }
  }

 private:
  void load_balancer(uint32_t index, bool client, ServiceChoice& out) {
    const ServiceRuntime& svc = rc_.services[index];
    out.service = &svc;
    if (std::string_view wanted = sticky_value(svc, head_); !wanted.empty()) {
      for (const auto& s : svc.servers)
        if (s.sticky.named_by(wanted) && s.weight > 0 && healthy(s)) {
          out.server = &s;
          return;
        }
    }
    size_t n = svc.schedule.size();
    for (size_t tries = 0; tries < n; ++tries) {
      const UpstreamServer& s = svc.servers[svc.schedule[worker_.next_rr(index, rc_.generation) % n]];
      if (!healthy(s)) continue;
      out.server = &s;
      if (svc.sticky && client) out.cookies.push_back(sticky_cookie_header(*svc.sticky, s.sticky.value));
      return;
    }
  }

  // The child a weighted service sends this request to, if any.
  std::optional<uint32_t> weighted_child(uint32_t index, bool client, ServiceChoice& out) {
    const ServiceRuntime& svc = rc_.services[index];
    auto usable = [&](size_t pos) { return !svc.follows_health || service_up(rc_, svc.children[pos]); };
    if (std::string_view wanted = sticky_value(svc, head_); !wanted.empty()) {
      for (size_t pos = 0; pos < svc.children.size(); ++pos)
        if (svc.child_cookies[pos].named_by(wanted) && usable(pos)) return svc.children[pos];
    }
    size_t n = svc.schedule.size();
    for (size_t tries = 0; tries < n; ++tries) {
      uint32_t pos = svc.schedule[worker_.next_rr(index, rc_.generation) % n];
      if (!usable(pos)) continue;
      if (svc.sticky && client) out.cookies.push_back(sticky_cookie_header(*svc.sticky, svc.child_cookies[pos].value));
      return svc.children[pos];
    }
    return std::nullopt;
  }

  void add_mirrors(uint32_t index, ServiceChoice& out) {
    const ServiceRuntime& svc = rc_.services[index];
    if (svc.mirrors.empty()) return;
    uint64_t n = worker_.next_rr(index, rc_.generation);
    for (const auto& m : svc.mirrors) {
      if (!mirror_turn(n, m.percent)) continue;
      ServiceChoice copy;
      choose(m.service, false, copy);
      if (copy.server) out.mirrors.push_back({copy.service, copy.server, &svc});
      out.mirrors.insert(out.mirrors.end(), copy.mirrors.begin(), copy.mirrors.end());
    }
  }

  Worker& worker_;
  const RequestHead& head_;
  const RuntimeConfig& rc_;
};

}  // namespace

ServiceChoice pick_server(Worker& worker, const RequestHead& head, const RuntimeConfig& rc,
                          uint32_t index) {
  ServiceChoice out;
  Chooser(worker, head, rc).choose(index, true, out);
  if (!out.server) {  // no server: the answer is 503, without cookies or copies
    out.cookies.clear();
    out.mirrors.clear();
  }
  return out;
}

bool service_up(const RuntimeConfig& rc, uint32_t index) {
  const ServiceRuntime& svc = rc.services[index];
  switch (svc.kind) {
    case ServiceKind::load_balancer:
      for (const auto& s : svc.servers)
        if (healthy(s)) return true;
      return false;
    case ServiceKind::weighted:
      for (uint32_t child : svc.children)
        if (!svc.follows_health || service_up(rc, child)) return true;
      return false;
    case ServiceKind::mirroring:
      return service_up(rc, svc.children[0]);
    case ServiceKind::failover:
      return service_up(rc, svc.children[0]) || !svc.follows_health || service_up(rc, svc.children[1]);
  }
  return false;
}

std::string sticky_cookie_header(const config::StickyCookie& sticky, std::string_view value) {
  std::string out = sticky.name + "=" + std::string(value) + "; Path=/";
  if (sticky.secure) out += "; Secure";
  if (sticky.http_only) out += "; HttpOnly";
  if (!sticky.same_site.empty()) out += "; SameSite=" + sticky.same_site;
  if (sticky.max_age > 0) out += "; Max-Age=" + std::to_string(sticky.max_age);
  return out;
}

}  // namespace portier::proxy
