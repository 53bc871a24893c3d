// The label path of the schema (config/dynamic_schema.hpp): every declared field of the types
// labels can set decodes from its label to the same value the YAML path gives.
#include <catch2/catch.hpp>

#include "discovery/label_decoder.hpp"
#include "tests/unit/config/schema_sample.hpp"

using namespace portier;
using namespace portier::config;
using config::testing::filled;
using config::testing::Fill;
using config::testing::LabelLister;
using discovery::ContainerInfo;

namespace {

ContainerInfo container(const std::vector<std::pair<std::string, std::string>>& labels) {
  ContainerInfo c;
  c.id = "id-app";
  c.name = "app";
  for (const auto& [k, v] : labels) c.labels[k] = v;
  c.labels["traefik.http.services.s.loadbalancer.server.port"] = "80";
  c.network_mode = "host";
  c.networks = {{"host", ""}};
  c.endpoint = "unix:///run/docker.sock";
  return c;
}

discovery::ContainerFragment decode(const std::vector<std::pair<std::string, std::string>>& labels) {
  discovery::DecodeOptions o;
  auto f = discovery::decode_container(container(labels), o);
  for (const auto& e : f.errors) UNSCOPED_INFO(e.label << ": " << e.message);
  return f;
}

// Every type of Spec (MiddlewareSpec: traefik.http.middlewares, TcpMiddlewareSpec:
// traefik.tcp.middlewares) decodes from its labels.
template <class Spec, size_t I = 0>
void check_every_middleware() {
  if constexpr (I < std::variant_size_v<Spec>) {
    constexpr bool tcp = std::is_same_v<Spec, TcpMiddlewareSpec>;
    Spec spec;
    spec.template emplace<I>();
    Fill fill;
    describe_spec(spec, fill);
    LabelLister l{std::string(tcp ? "traefik.tcp" : "traefik.http") + ".middlewares.m." + middleware_type(spec) + "."};
    describe_spec(spec, l);
    INFO(middleware_type(spec));
    CHECK(l.labels.size() >= static_cast<size_t>(fill.fields));
    const auto f = decode(l.labels);
    REQUIRE(f.errors.empty());
    if constexpr (tcp) CHECK(f.dynamic.tcp.middlewares.at("m").spec == spec);
    else CHECK(f.dynamic.http.middlewares.at("m").spec == spec);
    check_every_middleware<Spec, I + 1>();
  }
}

}  // namespace

TEST_CASE("labels: every middleware field decodes as declared", "[labels][schema]") {
  check_every_middleware<MiddlewareSpec>();
  check_every_middleware<TcpMiddlewareSpec>();
}

TEST_CASE("labels: every router and load-balancer field decodes as declared", "[labels][schema]") {
  HttpRouter r = filled<HttpRouter>();
  LabelLister lr{"traefik.http.routers.r."};
  describe(r, lr);
  LoadBalancer lb = filled<LoadBalancer>();
  lb.servers.clear();  // labels give one server by port
  LabelLister llb{"traefik.http.services.s.loadBalancer."};
  describe(lb, llb);
  TcpRouter t = filled<TcpRouter>();
  LabelLister lt{"traefik.tcp.routers.t."};
  describe(t, lt);
  auto labels = lr.labels;
  labels.insert(labels.end(), llb.labels.begin(), llb.labels.end());
  labels.insert(labels.end(), lt.labels.begin(), lt.labels.end());
  labels.emplace_back("traefik.tcp.services.ts.loadbalancer.server.port", "5432");
  const auto f = decode(labels);
  REQUIRE(f.errors.empty());
  r.provider = "docker";
  t.provider = "docker";
  CHECK(f.dynamic.http.routers.at("r") == r);
  CHECK(f.dynamic.tcp.routers.at("t") == t);
  LoadBalancer got = *f.dynamic.http.services.at("s").load_balancer;
  CHECK(got.servers.size() == 1);
  got.servers.clear();
  CHECK(got == lb);
}

// Services of services included: Traefik's Docker provider cannot declare them (label:"-").
TEST_CASE("labels: declared 'not supported' keys are errors naming the label", "[labels][schema]") {
  const std::string no_labels = " in Docker labels (Traefik's labels cannot declare this service type";
  for (const auto& [label, says] : std::vector<std::pair<std::string, std::string>>{
           {"traefik.http.middlewares.b.buffering.retryExpression", "retryExpression"},
           {"traefik.http.services.s.loadbalancer.strategy", "strategy"},
           {"traefik.http.routers.r.observability.accesslogs", "observability"},
           {"traefik.http.services.w.weighted.services[0].name", "weighted" + no_labels},
           {"traefik.http.services.m.mirroring.service", "mirroring" + no_labels},
           {"traefik.http.services.f.failover.fallback", "failover" + no_labels}}) {
    INFO(label);
    const auto f = decode({{label, "1"}});
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].label == label);
    CHECK(f.errors[0].message.find(says) == 0);
    CHECK(f.errors[0].message.find("is not supported") != std::string::npos);
  }
}

