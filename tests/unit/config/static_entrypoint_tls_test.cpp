// entryPoints.NAME.http.tls: certResolver, options and domains (Traefik's entrypoint model).
#include <catch2/catch.hpp>

#include "tests/unit/config/static_load_util.hpp"

using namespace portier::config;
using namespace portier::config::test;

namespace {

const std::string kResolvers =
    "certificatesResolvers:\n"
    "  dns: {acme: {email: a@example.test, storage: /tmp/a.json, dnsChallenge: {provider: cloudflare}}}\n"
    "  tls: {acme: {email: a@example.test, storage: /tmp/a.json, tlsChallenge: {}}}\n"
    "infra: {cf_dns_api_token: x}\n";

}  // namespace

TEST_CASE("entrypoint http.tls.domains: main and sans, one certificate each") {
  auto r = load(
      "entryPoints:\n"
      "  websecure:\n"
      "    address: \":443\"\n"
      "    http:\n"
      "      tls:\n"
      "        certResolver: dns\n"
      "        domains:\n"
      "          - main: example.test\n"
      "            sans: [\"*.example.test\", www.example.test]\n"
      "          - {main: other.test}\n" +
      kResolvers);
  INFO(all(r));
  REQUIRE(r.ok());
  const EntryPoint& ws = r.config.entry_points.at("websecure");
  CHECK(ws.tls);
  CHECK(ws.tls_cert_resolver == "dns");
  CHECK(ws.tls_domains == std::vector<Domain>{{"example.test", {"*.example.test", "www.example.test"}},
                                              {"other.test", {}}});
}

TEST_CASE("entrypoint http.tls.domains: errors with their path") {
  auto r = load(
      "entryPoints:\n"
      "  a:\n"
      "    address: \":1\"\n"
      "    http: {tls: {domains: [{main: a.example.test}]}}\n"
      "  b:\n"
      "    address: \":2\"\n"
      "    http: {tls: {certResolver: tls, domains: [{main: \"*.example.test\"}]}}\n"
      "  c:\n"
      "    address: \":3\"\n"
      "    http: {tls: {certResolver: dns, domains: [{sans: [x.example.test]}, {main: m, typo: 1}]}}\n"
      "  d:\n"
      "    address: \":4\"\n"
      "    http: {tls: {certResolver: dns, domains: {main: a.example.test}}}\n" +
      kResolvers);
  INFO(all(r));
  CHECK(has(r, "entryPoints.a.http.tls.domains", "has no effect without http.tls.certResolver", 4));
  CHECK(has(r, "entryPoints.b.http.tls.domains", "wildcard \"*.example.test\" needs a certificate resolver with dnsChallenge", 7));
  CHECK(has(r, "entryPoints.c.http.tls.domains[0].main", "required", 10));
  CHECK(has(r, "entryPoints.c.http.tls.domains[1].typo", "unknown key"));
  CHECK(has(r, "entryPoints.d.http.tls.domains", "expected a list of {main, sans}", 13));
}
