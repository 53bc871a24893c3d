// libFuzzer target: forwardAuth's handling of outside input: a client's request head turned
// into the authentication request head, and the auth server's Location and Set-Cookie values.
// Input: a request head (as a client sends it), then lines: a Location value, a Set-Cookie
// value; the first byte also picks the options (trustForwardHeader, trusted peer, TLS,
// authRequestHeaders, preserveRequestMethod).
// Checks: no crash; the auth request head is one well-formed request (it parses whole, with
// the X-Forwarded-* fields once each and no field the client could smuggle in); a resolved
// Location is absolute; a cookie name holds no '=' or ';'; canonical names keep their letters.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/http_token.hpp"
#include "proxy/forward_auth_request.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/http1_parser.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace portier;
using portier::fuzz::next_line;
using namespace portier::proxy;

namespace {
void check_auth_head(const RequestHead& head, uint8_t flags) {
  config::ForwardAuthMw spec;
  spec.trust_forward_header = flags & 1;
  spec.preserve_request_method = flags & 8;
  if (flags & 16) spec.auth_request_headers = {"Cookie", "Authorization"};
  ForwardAuthAddress address;
  if (!parse_forward_auth_address("http://auth.test:9091/verify?rd=x", address).empty()) std::abort();
  RequestContext ctx{head, head.path, (flags & 4) != 0, "192.0.2.1", (flags & 2) != 0};
  std::string out = build_auth_request_head(ctx, spec, address);
  HttpLimits limits;
  limits.max_header_bytes = 1 << 20;
  limits.max_headers = 1 << 16;
  limits.max_request_line = 1 << 16;
  RequestHead auth;
  ParseOutcome r = parse_request_head(out, limits, auth);
  if (r.status != ParseStatus::complete || auth.head_size != out.size()) std::abort();
  if (auth.body != BodyKind::none || auth.host != "auth.test:9091") std::abort();
  for (std::string_view name : {"x-forwarded-for", "x-forwarded-host", "x-forwarded-uri", "host"}) {
    int n = 0;
    for (const auto& h : auth.headers) n += iequals(h.name, name);
    if (n != 1) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestHead head;
  HttpLimits limits;
  ParseOutcome r = parse_request_head(in, limits, head);
  if (r.status == ParseStatus::complete) {
    check_auth_head(head, flags);
    in.remove_prefix(head.head_size);
  }
  std::string_view location = next_line(in);
  std::string_view set_cookie = next_line(in);

  ForwardAuthAddress address;
  if (!parse_forward_auth_address(flags & 32 ? "https://auth.test/a/b?x" : "http://[::1]:1", address).empty())
    std::abort();
  std::string resolved = resolve_location(address, location);
  if (resolved.find(':') == std::string::npos) std::abort();

  std::string_view name = set_cookie_name(set_cookie);
  if (name.find_first_of("=;") != std::string_view::npos) std::abort();
  std::string canonical = config::canonical_header_name(set_cookie);
  if (canonical.size() != set_cookie.size() || !iequals(canonical, set_cookie)) std::abort();
  return 0;
}
