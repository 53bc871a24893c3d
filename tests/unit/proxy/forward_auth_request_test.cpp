// forwardAuth's text work: the address, the authentication request head (Traefik's header
// rules), Location resolution, canonical names; and the response edits its cookies use.
#include "config/http_token.hpp"
#include "proxy/forward_auth_request.hpp"

#include <catch2/catch.hpp>

#include "proxy/header_fields.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

struct Parsed {
  std::string text;
  RequestHead head;
};

Parsed parse(std::string text) {
  Parsed p{std::move(text), {}};
  HttpLimits limits;
  REQUIRE(parse_request_head(p.text, limits, p.head).status == ParseStatus::complete);
  return p;
}

// The auth request head for `request`, reparsed: its fields by lower-case name (joined).
std::map<std::string, std::string> auth_fields(const Parsed& request, const config::ForwardAuthMw& spec,
                                               bool trusted, std::string* line = nullptr) {
  ForwardAuthAddress address;
  REQUIRE(parse_forward_auth_address("http://auth:9091/verify?rd=x", address).empty());
  RequestContext ctx{request.head, request.head.path, true, "192.0.2.7", trusted};
  static std::string out;
  out = build_auth_request_head(ctx, spec, address);
  RequestHead auth;
  HttpLimits limits;
  REQUIRE(parse_request_head(out, limits, auth).status == ParseStatus::complete);
  if (line) *line = std::string(auth.method) + " " + std::string(auth.target);
  std::map<std::string, std::string> fields;
  for (const auto& h : auth.headers) {
    std::string name(h.name);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto& v = fields[name];
    v += (v.empty() ? "" : "|") + std::string(h.value);
  }
  return fields;
}

const char* kRequest =
    "POST /app/page?x=1 HTTP/1.1\r\nHost: app.test:8443\r\nContent-Length: 0\r\n"
    "Cookie: a=1\r\nCookie: b=2\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
    "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Host: forged.test\r\nX-Forwarded-Prefix: /p\r\n"
    "Authorization: Bearer t\r\n\r\n";

}  // namespace

TEST_CASE("forwardAuth: the address is taken apart", "[forwardauth]") {
  ForwardAuthAddress a;
  CHECK(parse_forward_auth_address("HTTPS://auth.test/api/verify?rd=https://x/#frag", a).empty());
  CHECK(a.scheme == "https");
  CHECK(a.authority == "auth.test");
  CHECK(a.target == "/api/verify?rd=https://x/");
  CHECK(parse_forward_auth_address("http://auth:9091?q", a).empty());
  CHECK(a.target == "/?q");
  CHECK_FALSE(parse_forward_auth_address("ftp://auth", a).empty());
  CHECK_FALSE(parse_forward_auth_address("auth:9091", a).empty());
  CHECK_FALSE(parse_forward_auth_address("http:///x", a).empty());
  CHECK_FALSE(parse_forward_auth_address("http://a/b c", a).empty());
}

TEST_CASE("forwardAuth: the auth request from an untrusted peer", "[forwardauth]") {
  auto request = parse(kRequest);
  config::ForwardAuthMw spec;
  spec.trust_forward_header = true;  // no effect: the peer is not trusted
  std::string line;
  auto f = auth_fields(request, spec, false, &line);
  CHECK(line == "GET /verify?rd=x");
  CHECK(f["host"] == "auth:9091");
  CHECK(f["cookie"] == "a=1; b=2");
  CHECK(f["authorization"] == "Bearer t");
  CHECK(f.count("x-hop") == 0);
  CHECK(f.count("connection") == 0);
  CHECK(f.count("content-length") == 0);
  CHECK(f.count("x-forwarded-prefix") == 0);
  CHECK(f["x-forwarded-for"] == "192.0.2.7");
  CHECK(f["x-forwarded-host"] == "app.test:8443");
  CHECK(f["x-forwarded-port"] == "8443");
  CHECK(f["x-forwarded-proto"] == "https");
  CHECK(f["x-forwarded-method"] == "POST");
  CHECK(f["x-forwarded-uri"] == "/app/page?x=1");
}

TEST_CASE("forwardAuth: trustForwardHeader with a trusted peer", "[forwardauth]") {
  auto request = parse(kRequest);
  config::ForwardAuthMw spec;
  spec.auth_request_headers = {"cookie"};
  auto f = auth_fields(request, spec, true);
  CHECK(f["x-forwarded-for"] == "192.0.2.7");  // not trusted by the middleware: replaced
  CHECK(f["x-forwarded-host"] == "app.test:8443");
  CHECK(f.count("x-forwarded-prefix") == 0);   // not in authRequestHeaders
  CHECK(f.count("authorization") == 0);
  CHECK(f["cookie"] == "a=1; b=2");
  spec.trust_forward_header = true;
  spec.preserve_request_method = true;
  std::string line;
  f = auth_fields(request, spec, true, &line);
  CHECK(line == "POST /verify?rd=x");
  CHECK(f["x-forwarded-for"] == "203.0.113.9, 192.0.2.7");
  CHECK(f["x-forwarded-host"] == "forged.test");
  CHECK(f["x-forwarded-prefix"] == "/p");  // trusted X-Forwarded-* pass the filter
  CHECK(f["x-forwarded-proto"] == "https");
}

TEST_CASE("forwardAuth: Location resolved against the address", "[forwardauth]") {
  ForwardAuthAddress a;
  REQUIRE(parse_forward_auth_address("http://auth:9091/api/verify?rd=x", a).empty());
  CHECK(resolve_location(a, "https://login.test/x") == "https://login.test/x");
  CHECK(resolve_location(a, "//login.test/x") == "http://login.test/x");
  CHECK(resolve_location(a, "/login") == "http://auth:9091/login");
  CHECK(resolve_location(a, "login?a=b") == "http://auth:9091/api/login?a=b");
  CHECK(resolve_location(a, "?a=b") == "http://auth:9091/api/verify?a=b");
  CHECK(resolve_location(a, "a:b/c") == "a:b/c");
}

TEST_CASE("forwardAuth: canonical names and cookie names", "[forwardauth]") {
  CHECK(config::canonical_header_name("remote-USER") == "Remote-User");
  CHECK(config::canonical_header_name("x-forwarded-for") == "X-Forwarded-For");
  CHECK(config::canonical_header_name("bad name") == "bad name");
  CHECK(set_cookie_name(" auth_refresh = r1; Path=/") == "auth_refresh");
  CHECK(set_cookie_name("novalue") == "novalue");
  CHECK(set_cookie_name("=x") == "");
}

TEST_CASE("HeaderEdits: drop_cookies drops only the named Set-Cookie fields", "[forwardauth]") {
  HeaderEdits edits;
  edits.drop_cookies = {"auth_refresh"};
  CHECK(edits.drops("Set-Cookie", "auth_refresh=backend; Path=/"));
  CHECK_FALSE(edits.drops("set-cookie", "keep=1"));
  CHECK_FALSE(edits.drops("X-Other", "auth_refresh=1"));
  edits.set_header("X-Other", "v");
  CHECK(edits.drops("x-other", "anything"));
}
