#include "discovery/label_decoder.hpp"

#include <catch2/catch.hpp>

#include "discovery/fragment_merge.hpp"
#include "discovery/rule_template.hpp"

using namespace portier::discovery;
using portier::config::ConfigError;

namespace {

ContainerInfo host_container(std::string name, std::map<std::string, std::string> labels) {
  ContainerInfo c;
  c.id = "id-" + name;
  c.name = std::move(name);
  c.labels = std::move(labels);
  c.network_mode = "host";
  c.networks = {{"host", ""}};
  c.endpoint = "unix:///run/rediacc/docker-1.sock";
  return c;
}

DecodeOptions options() {
  DecodeOptions o;
  o.entry_points = {"web", "websecure", "websecure-v6"};
  o.cert_resolvers = {"letsencrypt"};
  return o;
}

bool has_error(const ContainerFragment& f, const std::string& label, const std::string& fragment) {
  for (const auto& e : f.errors)
    if (e.label == label && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("labels: http router and service with service_ip", "[labels]") {
  auto c = host_container("web", {{"traefik.enable", "true"},
                                  {"traefik.http.routers.web.rule", "Host(`a.example.com`)"},
                                  {"traefik.http.routers.web.entrypoints", "websecure, websecure-v6"},
                                  {"traefik.http.routers.web.tls.certresolver", "letsencrypt"},
                                  {"traefik.http.routers.web.middlewares", "hsts"},
                                  {"traefik.http.routers.web.priority", "42"},
                                  {"traefik.http.services.web.loadbalancer.server.port", "8080"},
                                  {"traefik.http.middlewares.hsts.headers.stsseconds", "31536000"},
                                  {"traefik.http.middlewares.hsts.headers.customresponseheaders.X-Foo", "bar"},
                                  {"rediacc.service_ip", "127.0.11.2"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  const auto& r = f.dynamic.http.routers.at("web");
  CHECK(r.rule == "Host(`a.example.com`)");
  CHECK(r.entry_points == std::vector<std::string>{"websecure", "websecure-v6"});
  CHECK(r.service == "web");  // linked to the only service
  CHECK(r.priority == 42);
  REQUIRE(r.tls);
  CHECK(r.tls->cert_resolver == "letsencrypt");
  CHECK(r.middlewares == std::vector<std::string>{"hsts"});
  CHECK(f.dynamic.http.services.at("web").load_balancer->servers.at(0).url == "http://127.0.11.2:8080");
  const auto& h = std::get<portier::config::HeadersMw>(f.dynamic.http.middlewares.at("hsts").spec);
  CHECK(h.sts_seconds == 31536000);
  CHECK(h.custom_response_headers.at("X-Foo") == "bar");
}

TEST_CASE("labels: field names are case-insensitive, map keys keep their case", "[labels]") {
  auto c = host_container("app", {{"Traefik.HTTP.Routers.App.Rule", "Host(`x`)"},
                                  {"traefik.http.services.App.LoadBalancer.Server.Port", "81"},
                                  {"traefik.http.middlewares.m.Headers.CustomRequestHeaders.X-Up", "1"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  CHECK(f.dynamic.http.routers.at("App").rule == "Host(`x`)");
  CHECK(f.dynamic.http.services.at("App").load_balancer->servers.at(0).url == "http://127.0.0.1:81");
  CHECK(std::get<portier::config::HeadersMw>(f.dynamic.http.middlewares.at("m").spec)
            .custom_request_headers.count("X-Up") == 1);
}

TEST_CASE("labels: defaults: service named after the container, defaultRule", "[labels]") {
  auto c = host_container("My_App.1", {{"traefik.http.services.x.loadbalancer.server.port", "80"}});
  auto o = options();
  o.default_rule = "Host(`{{ normalize .Name }}.example.com`)";
  auto f = decode_container(c, o);
  REQUIRE(f.errors.empty());
  // One service named by label, router named after the container, linked to it.
  CHECK(f.dynamic.http.routers.at("My-App-1").rule == "Host(`My-App-1.example.com`)");
  CHECK(f.dynamic.http.routers.at("My-App-1").service == "x");

  auto bare = host_container("plain", {{"traefik.enable", "true"}});
  bare.network_mode = "bridge";
  bare.networks = {{"zeta", "172.20.0.5"}, {"alpha", "172.19.0.4"}};
  bare.ports = {80, 443};
  auto g = decode_container(bare, o);
  REQUIRE(g.errors.empty());
  CHECK(g.dynamic.http.services.at("plain").load_balancer->servers.at(0).url == "http://172.19.0.4:80");
  CHECK(g.dynamic.http.routers.at("plain").service == "plain");
}

TEST_CASE("labels: traefik.docker.network picks the network", "[labels]") {
  auto c = host_container("n", {{"traefik.docker.network", "zeta"},
                                {"traefik.http.services.n.loadbalancer.server.port", "80"}});
  c.network_mode = "bridge";
  c.networks = {{"zeta", "172.20.0.5"}, {"alpha", "172.19.0.4"}};
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  CHECK(f.dynamic.http.services.at("n").load_balancer->servers.at(0).url == "http://172.20.0.5:80");
}

TEST_CASE("labels: exposedByDefault and traefik.enable", "[labels]") {
  auto o = options();
  o.exposed_by_default = false;
  auto c = host_container("a", {{"traefik.http.services.a.loadbalancer.server.port", "80"}});
  auto f = decode_container(c, o);
  CHECK(f.dynamic.http.routers.empty());
  CHECK_FALSE(f.enabled);
  c.labels["traefik.enable"] = "true";
  CHECK(decode_container(c, o).dynamic.http.routers.size() == 1);
  o.exposed_by_default = true;
  c.labels["traefik.enable"] = "false";
  CHECK(decode_container(c, o).dynamic.http.routers.empty());
  // Unlabelled container without a port: skipped silently.
  auto quiet = host_container("db", {});
  auto q = decode_container(quiet, o);
  CHECK(q.errors.empty());
  CHECK_FALSE(q.enabled);
}

TEST_CASE("labels: server.url, scheme, passhostheader, healthcheck, sticky", "[labels]") {
  auto c = host_container("s", {{"traefik.http.services.s.loadbalancer.server.url", "http://10.1.2.3:9000"},
                                {"traefik.http.services.s.loadbalancer.passhostheader", "false"},
                                {"traefik.http.services.s.loadbalancer.healthcheck.path", "/health"},
                                {"traefik.http.services.s.loadbalancer.healthcheck.interval", "10s"},
                                {"traefik.http.services.s.loadbalancer.healthcheck.timeout", "1500ms"},
                                {"traefik.http.services.s.loadbalancer.sticky.cookie.name", "sid"},
                                {"traefik.http.services.s.loadbalancer.sticky.cookie.httponly", "true"},
                                {"traefik.http.services.s.loadbalancer.serverstransport", "tr"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  const auto& lb = *f.dynamic.http.services.at("s").load_balancer;
  CHECK(lb.servers.at(0).url == "http://10.1.2.3:9000");
  CHECK_FALSE(lb.pass_host_header);
  CHECK(lb.health_check->path == "/health");
  CHECK(lb.health_check->interval == std::chrono::seconds(10));
  CHECK(lb.health_check->timeout == std::chrono::milliseconds(1500));
  CHECK(lb.sticky_cookie->name == "sid");
  CHECK(lb.sticky_cookie->http_only);
  CHECK(lb.servers_transport == "tr");

  auto h = host_container("h", {{"traefik.http.services.h.loadbalancer.server.port", "8443"},
                                {"traefik.http.services.h.loadbalancer.server.scheme", "https"},
                                {"rediacc.service_ip", "127.0.11.9"}});
  CHECK(decode_container(h, options()).dynamic.http.services.at("h").load_balancer->servers.at(0).url ==
        "https://127.0.11.9:8443");
}

TEST_CASE("labels: tls domains, options", "[labels]") {
  auto c = host_container("t", {{"traefik.http.routers.t.rule", "Host(`t.example.com`)"},
                                {"traefik.http.routers.t.tls", "true"},
                                {"traefik.http.routers.t.tls.options", "modern"},
                                {"traefik.http.routers.t.tls.domains[0].main", "example.com"},
                                {"traefik.http.routers.t.tls.domains[0].sans", "*.example.com, www.example.com"},
                                {"traefik.http.services.t.loadbalancer.server.port", "80"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  const auto& tls = *f.dynamic.http.routers.at("t").tls;
  CHECK(tls.options == "modern");
  REQUIRE(tls.domains.size() == 1);
  CHECK(tls.domains[0].main == "example.com");
  CHECK(tls.domains[0].sans == std::vector<std::string>{"*.example.com", "www.example.com"});
}

TEST_CASE("labels: middleware types", "[labels]") {
  auto c = host_container("m", {{"traefik.http.services.m.loadbalancer.server.port", "80"},
                                {"traefik.http.middlewares.buf.buffering.maxrequestbodybytes", "1000"},
                                {"traefik.http.middlewares.rs.redirectscheme.scheme", "https"},
                                {"traefik.http.middlewares.rs.redirectscheme.permanent", "true"},
                                {"traefik.http.middlewares.rr.redirectregex.regex", "^http://a/(.*)"},
                                {"traefik.http.middlewares.rr.redirectregex.replacement", "http://b/${1}"},
                                {"traefik.http.middlewares.ch.chain.middlewares", "buf,rs"},
                                {"traefik.http.middlewares.sp.stripprefix.prefixes", "/a,/b"},
                                {"traefik.http.middlewares.ap.addprefix.prefix", "/api"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  const auto& mw = f.dynamic.http.middlewares;
  CHECK(std::get<portier::config::BufferingMw>(mw.at("buf").spec).max_request_body_bytes == 1000);
  CHECK(std::get<portier::config::RedirectSchemeMw>(mw.at("rs").spec).permanent);
  CHECK(std::get<portier::config::RedirectRegexMw>(mw.at("rr").spec).replacement == "http://b/${1}");
  CHECK(std::get<portier::config::ChainMw>(mw.at("ch").spec).middlewares == std::vector<std::string>{"buf", "rs"});
  CHECK(std::get<portier::config::StripPrefixMw>(mw.at("sp").spec).prefixes.size() == 2);
  CHECK(std::get<portier::config::AddPrefixMw>(mw.at("ap").spec).prefix == "/api");
}

TEST_CASE("labels: tcp and udp", "[labels]") {
  auto c = host_container("pg", {{"traefik.tcp.routers.pg.rule", "HostSNI(`*`)"},
                                 {"traefik.tcp.routers.pg.entrypoints", "tcp-5432"},
                                 {"traefik.tcp.routers.pg.tls.passthrough", "true"},
                                 {"traefik.tcp.services.pg.loadbalancer.server.port", "5432"},
                                 {"traefik.udp.routers.dns.entrypoints", "udp-53"},
                                 {"traefik.udp.services.dns.loadbalancer.server.port", "53"},
                                 {"rediacc.service_ip", "127.0.11.3"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  CHECK(f.dynamic.http.routers.empty());  // tcp/udp only: no default http router
  const auto& r = f.dynamic.tcp.routers.at("pg");
  CHECK(r.service == "pg");
  CHECK(r.tls->passthrough);
  CHECK(f.dynamic.tcp.services.at("pg").servers.at(0).address == "127.0.11.3:5432");
  CHECK(f.dynamic.udp.routers.at("dns").service == "dns");
  CHECK(f.dynamic.udp.services.at("dns").servers.at(0).address == "127.0.11.3:53");
}

TEST_CASE("labels: tcp service tls, proxyProtocol, serversTransport, terminationDelay", "[labels]") {
  auto c = host_container("pg", {{"traefik.tcp.routers.pg.rule", "HostSNI(`*`)"},
                                 {"traefik.tcp.services.pg.loadbalancer.server.port", "5432"},
                                 {"traefik.tcp.services.pg.loadbalancer.server.tls", "true"},
                                 {"traefik.tcp.services.pg.loadbalancer.proxyprotocol.version", "1"},
                                 {"traefik.tcp.services.pg.loadbalancer.serverstransport", "mtls@file"},
                                 {"traefik.tcp.services.pg.loadbalancer.terminationdelay", "250"},
                                 {"traefik.tcp.services.pp.loadbalancer.server.port", "5433"},
                                 {"traefik.tcp.services.pp.loadbalancer.proxyprotocol", "true"},
                                 {"traefik.tcp.routers.pp.rule", "HostSNI(`*`)"},
                                 {"traefik.tcp.routers.pp.service", "pp"},
                                 {"traefik.tcp.routers.pg.service", "pg"},
                                 {"rediacc.service_ip", "127.0.11.3"}});
  auto f = decode_container(c, options());
  REQUIRE(f.errors.empty());
  const auto& pg = f.dynamic.tcp.services.at("pg");
  CHECK(pg.servers.at(0).tls);
  REQUIRE(pg.proxy_protocol);
  CHECK(pg.proxy_protocol->version == 1);
  CHECK(pg.servers_transport == "mtls@file");
  CHECK(pg.termination_delay == 250);
  const auto& pp = f.dynamic.tcp.services.at("pp");
  CHECK_FALSE(pp.servers.at(0).tls);
  REQUIRE(pp.proxy_protocol);
  CHECK(pp.proxy_protocol->version == 2);  // Traefik's default version
  CHECK(pp.termination_delay == -1);
}

TEST_CASE("labels: every error skips the container alone, with its label", "[labels]") {
  auto check = [](std::map<std::string, std::string> labels, const std::string& label, const std::string& msg) {
    labels.emplace("traefik.http.services.x.loadbalancer.server.port", "80");
    auto f = decode_container(host_container("bad", labels), options());
    INFO(label << ": " << msg);
    CHECK(has_error(f, label, msg));
    CHECK(f.dynamic.http.routers.empty());
    CHECK(f.dynamic.http.services.empty());
    CHECK(f.errors.at(0).provider == "docker");
    CHECK(f.errors.at(0).source == "container bad on unix:///run/rediacc/docker-1.sock");
  };
  check({{"traefik.http.routers.x.rulez", "Host(`a`)"}}, "traefik.http.routers.x.rulez", "unknown field");
  check({{"traefik.http.routers.x.priority", "high"}}, "traefik.http.routers.x.priority", "invalid integer");
  check({{"traefik.http.routers.x.tls", "yes"}}, "traefik.http.routers.x.tls", "invalid boolean");
  check({{"traefik.http.services.x.loadbalancer.server.port", "70000"}},
        "traefik.http.services.x.loadbalancer.server.port", "invalid port");
  check({{"traefik.frontend.rule", "Host:a"}}, "traefik.frontend.rule", "Traefik v1");
  check({{"traefik.enabled", "true"}}, "traefik.enabled", "did you mean traefik.enable");
  check({{"traefik.enable", "yes"}}, "traefik.enable", "invalid boolean");
  check({{"traefik.http.middlewares.m.plugin.demo.key", "1"}},
        "traefik.http.middlewares.m.plugin.demo.key", "not supported");
  check({{"traefik.http.middlewares.m.headers.stsseconds", "1"}, {"traefik.http.middlewares.m.buffering.maxrequestbodybytes", "1"}},
        "traefik.http.middlewares.m.headers.stsseconds", "two types");
  check({{"traefik.http.services.y.loadbalancer.server.port", "81"}, {"traefik.http.routers.r.rule", "Host(`a`)"}},
        "traefik.http.routers.r.service", "several (x, y)");
  check({{"traefik.http.healthcheck.interval", "10s"}}, "traefik.http.healthcheck.interval", "unknown http section");
  check({{"traefik.http.services.x.loadbalancer.healthcheck.interval", "soon"}},
        "traefik.http.services.x.loadbalancer.healthcheck.interval", "invalid duration");
  // Keys Traefik has and portier does not implement yet are errors, never ignored (issue 14).
  check({{"traefik.http.middlewares.b.buffering.retryexpression", "Attempts() < 2"}},
        "traefik.http.middlewares.b.buffering.retryexpression", "retryExpression is not supported");
  check({{"traefik.http.services.x.loadbalancer.healthcheck.scheme", "https"}},
        "traefik.http.services.x.loadbalancer.healthcheck.scheme", "scheme is not supported");
  check({{"traefik.http.middlewares.s.stripprefix.forceslash", "true"}},
        "traefik.http.middlewares.s.stripprefix.forceslash", "forceSlash is not supported");
  check({{"traefik.tcp.services.t.loadbalancer.proxyprotocol.version", "3"}},
        "traefik.tcp.services.t.loadbalancer.proxyprotocol.version", "out of range");
  check({{"traefik.tcp.services.t.loadbalancer.server.tls", "maybe"}},
        "traefik.tcp.services.t.loadbalancer.server.tls", "invalid boolean");
  check({{"traefik.tcp.services.t.loadbalancer.healthcheck.port", "1"}},
        "traefik.tcp.services.t.loadbalancer.healthcheck.port", "healthCheck (TCP health checks) is not supported");
  // These aborted the process (std::stod threw out of the decoder), issue 14.
  for (const char* v : {".", "..s", "1..5s", "-", "1e999s", "99999999999999999999h"})
    check({{"traefik.http.services.x.loadbalancer.healthcheck.interval", v}},
          "traefik.http.services.x.loadbalancer.healthcheck.interval", "invalid duration");
  check({{"rediacc.service_ip", "not-an-ip"}}, "rediacc.service_ip", "invalid IP");
}

TEST_CASE("labels: port is missing / no address", "[labels]") {
  auto c = host_container("np", {{"traefik.http.routers.np.rule", "Host(`a`)"}});
  auto f = decode_container(c, options());
  CHECK(has_error(f, "traefik.http.services.np.loadbalancer.server.port", "port is missing"));
  auto d = host_container("na", {{"traefik.http.services.na.loadbalancer.server.port", "80"}});
  d.network_mode = "none";
  d.networks.clear();
  CHECK(has_error(decode_container(d, options()), "traefik.http.services.na", "no IP address"));
}

TEST_CASE("labels: stopped, paused and unhealthy containers contribute nothing", "[labels]") {
  auto c = host_container("h", {{"traefik.http.services.h.loadbalancer.server.port", "80"}});
  c.health = "starting";
  CHECK(decode_container(c, options()).dynamic.http.services.empty());
  c.health = "healthy";
  CHECK(decode_container(c, options()).dynamic.http.services.size() == 1);
  c.state = "paused";
  CHECK(decode_container(c, options()).dynamic.http.services.empty());
}

TEST_CASE("defaultRule template", "[labels][template]") {
  std::map<std::string, std::string> labels{{"x", "from-label"}};
  RuleTemplateData data{"my-app", "My_App", &labels};
  std::string out;
  CHECK(render_rule_template("Host(`{{ normalize .Name }}.example.com`)", data, out).empty());
  CHECK(out == "Host(`my-app.example.com`)");
  CHECK(render_rule_template("Host(`{{ .Name }}`)", data, out).empty());
  CHECK(out == "Host(`my-app`)");
  CHECK(render_rule_template("Host(`{{ index .Labels \"x\" }}`)", data, out).empty());
  CHECK(out == "Host(`from-label`)");
  CHECK(render_rule_template("Host(`{{ normalize .ContainerName | lower }}`)", data, out).empty());
  CHECK(out == "Host(`my-app`)");
  CHECK(render_rule_template("{{ index .Labels \"missing\" }}", data, out).empty());
  CHECK(out.empty());
  CHECK_FALSE(render_rule_template("Host(`{{ .Nope }}`)", data, out).empty());
  CHECK_FALSE(render_rule_template("Host(`{{ bogus .Name }}`)", data, out).empty());
  CHECK_FALSE(render_rule_template("Host(`{{ .Name `)", data, out).empty());
  CHECK(normalize_name("a_b.c--d") == "a-b-c-d");
  CHECK(normalize_name("-x-") == "x");
}

TEST_CASE("merge: one service on several containers is one load balancer; conflicts dropped", "[labels][merge]") {
  auto a = host_container("a", {{"traefik.http.routers.app.rule", "Host(`app`)"},
                                {"traefik.http.services.app.loadbalancer.server.port", "80"},
                                {"rediacc.service_ip", "127.0.11.2"}});
  auto b = a;
  b.name = "b";
  b.labels["rediacc.service_ip"] = "127.0.11.3";
  b.endpoint = "unix:///run/rediacc/docker-2.sock";
  auto c = host_container("c", {{"traefik.http.routers.app.rule", "Host(`other`)"},
                                {"traefik.http.services.c.loadbalancer.server.port", "80"}});
  std::vector<SourcedDynamic> in;
  for (auto* x : {&a, &b}) in.push_back({container_source(*x), decode_container(*x, options()).dynamic});
  auto merged = merge_fragments(in, {});
  REQUIRE(merged.errors.empty());
  const auto& servers = merged.dynamic.http.services.at("app").load_balancer->servers;
  REQUIRE(servers.size() == 2);
  CHECK(servers[0].url == "http://127.0.11.2:80");
  CHECK(servers[1].url == "http://127.0.11.3:80");
  CHECK(merged.dynamic.http.routers.count("app") == 1);

  in.push_back({container_source(c), decode_container(c, options()).dynamic});
  auto conflicted = merge_fragments(in, {});
  CHECK(conflicted.dynamic.http.routers.count("app") == 0);
  CHECK(conflicted.dynamic.http.services.count("app") == 1);
  REQUIRE(conflicted.errors.size() == 1);
  CHECK(conflicted.errors[0].label == "traefik.http.routers.app");
  CHECK(conflicted.errors[0].source.find("container c on") != std::string::npos);
}

// ---- providers.docker options (issue 18 item 4) ----------------------------------------------

namespace {

ContainerInfo bridge_container(std::string name, std::map<std::string, std::string> labels) {
  ContainerInfo c = host_container(std::move(name), std::move(labels));
  c.network_mode = "front";
  c.networks = {{"back", "10.0.2.5"}, {"front", "10.0.1.5"}};
  c.ports = {80};
  return c;
}

std::string http_server(const ContainerFragment& f, const std::string& service) {
  const auto& lb = f.dynamic.http.services.at(service).load_balancer;
  return lb && !lb->servers.empty() ? lb->servers[0].url : "";
}

}  // namespace

TEST_CASE("labels: a container that fails the constraints is left out, with why, not an error", "[labels]") {
  auto o = options();
  REQUIRE(ConstraintMatcher::compile("Label(`tier`, `front`) || LabelRegex(`team`, `^ops`)", o.constraints).empty());
  auto in = bridge_container("in", {{"traefik.enable", "true"}, {"team", "ops-1"}});
  auto out = bridge_container("out", {{"traefik.enable", "true"}, {"team", "dev"}, {"traefik.bad", "x"}});
  auto f = decode_container(in, o);
  CHECK(f.skipped.empty());
  CHECK(f.dynamic.http.routers.count("in") == 1);
  auto g = decode_container(out, o);
  CHECK(g.skipped == "does not match providers.docker.constraints");
  CHECK(g.errors.empty());  // its labels are not even read, as in Traefik
  CHECK(g.dynamic == portier::config::Dynamic{});
  CHECK_FALSE(g.enabled);
  // Not said of a container that would not have been routed anyway.
  o.exposed_by_default = false;
  auto quiet = bridge_container("quiet", {{"team", "dev"}});
  CHECK(decode_container(quiet, o).skipped.empty());
}

TEST_CASE("labels: network and traefik.docker.network choose the address on several networks", "[labels]") {
  auto o = options();
  auto c = bridge_container("app", {{"traefik.enable", "true"}});
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.2.5:80");  // first by name
  o.network = "front";
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.1.5:80");
  c.labels["traefik.docker.network"] = "back";  // the label wins over the provider's network
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.2.5:80");
}

TEST_CASE("labels: useBindPortIP takes the binding's host address unless bound to every address", "[labels]") {
  auto o = options();
  auto c = bridge_container("app", {{"traefik.enable", "true"},
                                    {"traefik.tcp.routers.db.rule", "HostSNI(`*`)"},
                                    {"traefik.tcp.services.db.loadbalancer.server.port", "5432"},
                                    {"traefik.http.services.app.loadbalancer.server.port", "80"}});
  c.port_bindings = {{80, {"127.0.110.9", "18080"}}, {5432, {"0.0.0.0", "15432"}}};
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.2.5:80");  // off by default
  o.use_bind_port_ip = true;
  auto f = decode_container(c, o);
  CHECK(http_server(f, "app") == "http://127.0.110.9:18080");
  CHECK(f.dynamic.tcp.services.at("db").servers.at(0).address == "10.0.2.5:5432");  // 0.0.0.0: falls back
  c.port_bindings.clear();  // no binding: the container's address
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.2.5:80");
}

TEST_CASE("labels: allowEmptyServices keeps an unhealthy container's routers with empty services", "[labels]") {
  auto o = options();
  auto c = bridge_container("app", {{"traefik.enable", "true"},
                                    {"traefik.tcp.routers.db.rule", "HostSNI(`*`)"},
                                    {"traefik.tcp.services.db.loadbalancer.server.port", "5432"},
                                    {"traefik.http.routers.app.rule", "Host(`app.test`)"},
                                    {"traefik.http.services.app.loadbalancer.server.port", "80"}});
  for (const char* health : {"unhealthy", "starting"}) {
    c.health = health;
    CHECK(decode_container(c, o).dynamic == portier::config::Dynamic{});
    o.allow_empty_services = true;
    auto f = decode_container(c, o);
    CHECK(f.errors.empty());
    CHECK(f.dynamic.http.routers.count("app") == 1);
    CHECK(f.dynamic.tcp.routers.count("db") == 1);
    CHECK(f.dynamic.http.services.at("app").load_balancer->servers.empty());
    CHECK(f.dynamic.tcp.services.at("db").servers.empty());
    o.allow_empty_services = false;
  }
  c.health = "healthy";
  o.allow_empty_services = true;
  CHECK(http_server(decode_container(c, o), "app") == "http://10.0.2.5:80");
  c.state = "exited";  // not running: left out even so (Traefik's keepContainer)
  CHECK(decode_container(c, o).dynamic == portier::config::Dynamic{});
}
