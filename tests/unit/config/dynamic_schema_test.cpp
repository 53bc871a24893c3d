// The schema (config/dynamic_schema.hpp) walked entry by entry: every declared field, set to
// a non-default value, goes through the writer and the YAML reader unchanged.
#include <catch2/catch.hpp>

#include <cctype>

#include "config/dynamic_json.hpp"
#include "config/dynamic_yaml.hpp"
#include "tests/unit/config/schema_sample.hpp"

using namespace portier::config;
using portier::config::testing::Fill;
using portier::config::testing::filled;

namespace {

// One middleware of every type of M's spec (Middleware or TcpMiddleware) into `out`.
template <class M, size_t I = 0>
void add_every_middleware(std::map<std::string, M>& out) {
  if constexpr (I < std::variant_size_v<decltype(M::spec)>) {
    M m;
    m.spec.template emplace<I>();
    Fill fill;
    describe_spec(m.spec, fill);
    out[std::string("m-") + middleware_type(m.spec)] = m;
    add_every_middleware<M, I + 1>(out);
  }
}

// One item of every type, every declared field set to a non-default value.
Dynamic everything() {
  Dynamic d;
  d.http.routers["r"] = filled<HttpRouter>();
  // One service of each type, each with every field of its type.
  const HttpService all = filled<HttpService>();
  HttpService lb, w, m, f;
  lb.load_balancer = all.load_balancer;
  w.weighted = all.weighted;
  m.mirroring = all.mirroring;
  f.failover = all.failover;
  d.http.services["lb"] = lb;
  d.http.services["w"] = w;
  d.http.services["m"] = m;
  d.http.services["f"] = f;
  add_every_middleware(d.http.middlewares);
  add_every_middleware(d.tcp.middlewares);
  d.http.servers_transports["t"] = filled<ServersTransport>();
  d.tcp.routers["r"] = filled<TcpRouter>();
  d.tcp.services["s"] = filled<TcpService>();
  d.tcp.servers_transports["t"] = filled<TcpServersTransport>();
  d.udp.routers["r"] = filled<UdpRouter>();
  d.udp.services["s"] = filled<UdpService>();
  d.tls.certificates.push_back(filled<TlsCertificate>(DescribeCertificate<true>{}));
  d.tls.options["o"] = filled<TlsOptions>();
  d.tls.stores["s"] = filled<TlsStore>();
  return d;
}

}  // namespace

TEST_CASE("schema: every declared field round-trips model -> YAML -> model", "[schema]") {
  const Dynamic d = everything();
  const std::string yaml = dynamic_yaml(d);
  INFO(yaml);
  const Fragment f = parse_dynamic_yaml(yaml, "round-trip.yml");
  for (const auto& e : f.errors) UNSCOPED_INFO(e.label << ": " << e.message);
  REQUIRE(f.errors.empty());
  CHECK(f.dynamic == d);
  CHECK(dynamic_yaml(f.dynamic) == yaml);
  // Each middleware type is there, with all its fields written (none equals its default).
  CHECK(d.http.middlewares.size() == std::variant_size_v<MiddlewareSpec>);
  CHECK(d.tcp.middlewares.size() == std::variant_size_v<TcpMiddlewareSpec>);
  const auto j = traefik_json(d);
  CHECK(j["http"]["middlewares"]["m-headers"]["headers"].size() == 33);  // all of Traefik v3's
  CHECK(j["http"]["serversTransports"]["t"]["forwardingTimeouts"].size() == 3);
  CHECK(j["tcp"]["serversTransports"]["t"]["tls"].size() == 4);
}

TEST_CASE("schema: defaults are not written, references are exported", "[schema]") {
  Dynamic d;
  d.http.services["a@file"].load_balancer.emplace().servers.push_back({"http://127.0.0.1:1", 1});
  d.http.routers["r@file"] = HttpRouter{"Host(`a`)", {}, {}, "a@file", 0, {}, "file"};
  const auto j = traefik_json(d);
  CHECK(j["http"]["routers"]["r-file"] == nlohmann::json{{"rule", "Host(`a`)"}, {"service", "a-file"}});
  CHECK(j["http"]["services"]["a-file"] ==
        nlohmann::json{{"loadBalancer", {{"servers", {{{"url", "http://127.0.0.1:1"}}}}}}});
}

TEST_CASE("schema: YAML keys match in any case; errors name the key as written", "[schema]") {
  const Fragment f = parse_dynamic_yaml(R"Y(
http:
  middlewares:
    h:
      HEADERS:
        STSSECONDS: 10
        frameDENY: true
    b:
      buffering:
        MaxRequestBodyBytes: -1
)Y",
                                        "case.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].label == "http.middlewares.b.buffering.MaxRequestBodyBytes");
  CHECK(f.errors[0].message == "invalid size \"-1\": out of range 0..9223372036854775807");
  const auto& h = std::get<HeadersMw>(f.dynamic.http.middlewares.at("h").spec);
  CHECK(h.sts_seconds == 10);
  CHECK(h.frame_deny);
}

TEST_CASE("schema: the type table and the unsupported list do not overlap", "[schema]") {
  Dynamic d;
  add_every_middleware(d.http.middlewares);
  add_every_middleware(d.tcp.middlewares);
  for (const auto& [name, m] : d.http.middlewares) {
    INFO(name);
    CHECK(unsupported_middleware(middleware_type(m.spec)).empty());
    MiddlewareSpec other;
    std::string upper = name.substr(2);  // "m-redirectScheme" -> "REDIRECTSCHEME"
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    CHECK(emplace_middleware(other, upper));
    CHECK(other.index() == m.spec.index());
  }
  CHECK(unsupported_middleware("PLUGIN") == "plugin");
}
