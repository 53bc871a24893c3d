#pragma once
// Sticky cookies as Traefik v3 writes and reads them, so sessions pinned by Traefik stay
// pinned after the swap (pkg/server/service/loadbalancer/sticky.go, pkg/server/cookie):
// - the value naming a server (its URL) or a weighted child (its name) is the first 16 hex
//   digits of SHA-256 of that name;
// - a request's cookie also names it when it holds the name itself, its FNV-1 64 hash or the
//   FNV-1 64 hash of that hash (the values older Traefik versions wrote);
// - a configured cookie name keeps RFC 2616 token characters, others become '_'; without
//   one the cookie is called "_" + the first 5 hex digits of SHA-1("_TRAEFIK_BACKEND_" +
//   service name).
#include <string>
#include <string_view>

namespace portier::proxy {

// The values a sticky cookie may hold to name one target. Built once per configuration.
struct StickyTarget {
  std::string value;  // what portier writes
  std::string name, fnv, fnv_fnv;  // also accepted when read

  explicit StickyTarget(std::string_view target_name = {});
  bool named_by(std::string_view cookie) const {
    return !cookie.empty() && (cookie == value || cookie == name || cookie == fnv || cookie == fnv_fnv);
  }
};

std::string sticky_cookie_name(std::string_view configured, std::string_view service);

}  // namespace portier::proxy
