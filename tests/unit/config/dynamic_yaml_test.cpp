#include "config/dynamic_yaml.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "config/dynamic_json.hpp"
#include "config/yaml_tree.hpp"

using namespace portier::config;

namespace {

const char* kRealistic = R"Y(
http:
  routers:
    api:
      rule: "Host(`api.example.com`) && PathPrefix(`/v1`)"
      entryPoints: [websecure]
      middlewares: [secure-headers, limit-body]
      service: api
      priority: 42
      tls:
        certResolver: letsencrypt
        options: modern
        domains:
          - main: example.com
            sans: ["*.example.com"]
    web:
      rule: Host(`www.example.com`)
      service: split@file
      tls: {}
  services:
    api:
      loadBalancer:
        servers:
          - url: http://127.0.11.2:8080
          - url: h2c://127.0.11.3:8080
            weight: 3
        passHostHeader: false
        serversTransport: slow
        responseForwarding:
          flushInterval: 250ms
        healthCheck:
          path: /healthz
          interval: 10s
          timeout: 1500ms
          hostname: api.internal
          port: 8081
          method: HEAD
          status: 204
          headers:
            X-Probe: "1"
        sticky:
          cookie:
            name: srv
            secure: true
            httpOnly: true
            sameSite: lax
            maxAge: 3600
    split:
      weighted:
        services:
          - name: api
            weight: 2
          - name: other@docker
  middlewares:
    secure-headers:
      headers:
        stsSeconds: 31536000
        stsIncludeSubdomains: true
        stsPreload: true
        forceSTSHeader: true
        frameDeny: true
        customFrameOptionsValue: SAMEORIGIN
        contentTypeNosniff: true
        browserXssFilter: true
        customBrowserXSSValue: "1; mode=block"
        referrerPolicy: no-referrer
        contentSecurityPolicy: "default-src 'self'"
        permissionsPolicy: "camera=()"
        customRequestHeaders:
          X-Forwarded-Proto: https
          X-Remove-Me: ""
        customResponseHeaders:
          Server: ""
    limit-body:
      buffering:
        maxRequestBodyBytes: 10485760
        memRequestBodyBytes: 2097152
        maxResponseBodyBytes: 0
        memResponseBodyBytes: 1048576
    to-https:
      redirectScheme:
        scheme: https
        port: "443"
        permanent: true
    old-site:
      redirectRegex:
        regex: "^https://old.example.com/(.*)"
        replacement: "https://example.com/${1}"
        permanent: true
    both:
      chain:
        middlewares: [to-https, secure-headers]
    strip:
      stripPrefix:
        prefixes: [/api, /v1]
    add:
      addPrefix:
        prefix: /base
  serversTransports:
    slow:
      serverName: backend.local
      insecureSkipVerify: true
      rootCAs: [/etc/ca.pem]
      maxIdleConnsPerHost: 16
      forwardingTimeouts:
        dialTimeout: 5s
        responseHeaderTimeout: 1m
        idleConnTimeout: 90s
tcp:
  routers:
    db:
      rule: HostSNI(`*`)
      entryPoints: [postgres]
      service: db
    tls-pass:
      rule: HostSNI(`secure.example.com`)
      service: db
      tls:
        passthrough: true
  services:
    db:
      loadBalancer:
        servers:
          - address: 127.0.11.2:5432
          - address: 127.0.11.3:5432
            tls: true
        serversTransport: mtls
        proxyProtocol: {version: 1}
        terminationDelay: 50
  serversTransports:
    mtls:
      dialTimeout: 3s
      dialKeepAlive: -1s
      terminationDelay: -1s
      proxyProtocol: {}
      tls:
        serverName: db.internal
        insecureSkipVerify: true
        rootCAs: [/etc/ca.pem]
        certificates:
          - certFile: /etc/client.crt
            keyFile: /etc/client.key
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: dns
  services:
    dns:
      loadBalancer:
        servers:
          - address: 127.0.11.2:53
tls:
  certificates:
    - certFile: /certs/a.pem
      keyFile: /certs/a.key
      stores: [default]
  options:
    modern:
      minVersion: VersionTLS13
      maxVersion: VersionTLS13
      cipherSuites: [TLS_AES_128_GCM_SHA256]
      curvePreferences: [X25519, CurveP256]
      sniStrict: true
      alpnProtocols: [h2, http/1.1]
  stores:
    default:
      defaultCertificate:
        certFile: /certs/default.pem
        keyFile: /certs/default.key
)Y";

std::string messages(const Fragment& f) {
  std::string s;
  for (const auto& e : f.errors)
    s += e.label + ": " + e.message + " (line " + std::to_string(e.line) + ")\n";
  return s;
}

}  // namespace

TEST_CASE("a realistic Traefik dynamic file loads into the model") {
  const Fragment f = parse_dynamic_yaml(kRealistic, "/etc/portier/dynamic.yml");
  INFO(messages(f));
  REQUIRE(f.errors.empty());
  const Dynamic& d = f.dynamic;

  const HttpRouter& api = d.http.routers.at("api");
  CHECK(api.rule == "Host(`api.example.com`) && PathPrefix(`/v1`)");
  CHECK(api.entry_points == std::vector<std::string>{"websecure"});
  CHECK(api.middlewares == std::vector<std::string>{"secure-headers", "limit-body"});
  CHECK(api.priority == 42);
  REQUIRE(api.tls);
  CHECK(api.tls->cert_resolver == "letsencrypt");
  CHECK(api.tls->options == "modern");
  CHECK(api.tls->domains == std::vector<Domain>{{"example.com", {"*.example.com"}}});
  REQUIRE(d.http.routers.at("web").tls);
  CHECK(d.http.routers.at("web").tls->cert_resolver.empty());
  CHECK(d.http.routers.at("web").service == "split@file");

  const LoadBalancer& lb = *d.http.services.at("api").load_balancer;
  CHECK(lb.servers ==
        std::vector<HttpServer>{{"http://127.0.11.2:8080", 1}, {"h2c://127.0.11.3:8080", 3}});
  CHECK_FALSE(lb.pass_host_header);
  CHECK(lb.servers_transport == "slow");
  CHECK(lb.flush_interval == Millis(250));
  REQUIRE(lb.health_check);
  CHECK(lb.health_check->path == "/healthz");
  CHECK(lb.health_check->interval == Millis(10000));
  CHECK(lb.health_check->timeout == Millis(1500));
  CHECK(lb.health_check->method == "HEAD");
  CHECK(lb.health_check->status == 204);
  CHECK(lb.health_check->port == 8081);
  CHECK(lb.health_check->headers.at("X-Probe") == "1");
  REQUIRE(lb.sticky_cookie);
  CHECK(lb.sticky_cookie->name == "srv");
  CHECK(lb.sticky_cookie->http_only);
  CHECK(lb.sticky_cookie->same_site == "lax");
  CHECK(lb.sticky_cookie->max_age == 3600);
  CHECK(d.http.services.at("split").weighted->services ==
        std::vector<WeightedRef>{{"api", 2}, {"other@docker", 1}});

  const auto& h = std::get<HeadersMw>(d.http.middlewares.at("secure-headers").spec);
  CHECK(h.sts_seconds == 31536000);
  CHECK(h.sts_include_subdomains);
  CHECK(h.force_sts_header);
  CHECK(h.custom_browser_xss_value == "1; mode=block");
  CHECK(h.custom_request_headers.at("X-Remove-Me").empty());
  CHECK(h.custom_response_headers.at("Server").empty());
  const auto& b = std::get<BufferingMw>(d.http.middlewares.at("limit-body").spec);
  CHECK(b.max_request_body_bytes == 10485760);
  CHECK(std::get<RedirectSchemeMw>(d.http.middlewares.at("to-https").spec) ==
        RedirectSchemeMw{"https", "443", true});
  CHECK(std::get<RedirectRegexMw>(d.http.middlewares.at("old-site").spec).replacement ==
        "https://example.com/${1}");
  CHECK(std::get<ChainMw>(d.http.middlewares.at("both").spec).middlewares ==
        std::vector<std::string>{"to-https", "secure-headers"});
  CHECK(std::get<StripPrefixMw>(d.http.middlewares.at("strip").spec).prefixes.size() == 2);
  CHECK(std::get<AddPrefixMw>(d.http.middlewares.at("add").spec).prefix == "/base");

  const ServersTransport& t = d.http.servers_transports.at("slow");
  CHECK(t.insecure_skip_verify);
  CHECK(t.dial_timeout == Millis(5000));
  CHECK(t.response_header_timeout == Millis(60000));
  CHECK(t.max_idle_conns_per_host == 16);

  CHECK(d.tcp.routers.at("tls-pass").tls->passthrough);
  CHECK(d.tcp.services.at("db").servers[1].address == "127.0.11.3:5432");
  const auto& db = d.tcp.services.at("db");
  CHECK_FALSE(db.servers[0].tls);
  CHECK(db.servers[1].tls);
  CHECK(db.servers_transport == "mtls");
  CHECK(db.proxy_protocol->version == 1);
  CHECK(db.termination_delay == 50);
  const auto& mtls = d.tcp.servers_transports.at("mtls");
  CHECK(mtls.dial_timeout == std::chrono::seconds(3));
  CHECK(mtls.dial_keep_alive == std::chrono::seconds(-1));
  CHECK(mtls.termination_delay == std::chrono::seconds(-1));
  CHECK(mtls.proxy_protocol->version == 2);
  CHECK(mtls.tls->server_name == "db.internal");
  CHECK(mtls.tls->insecure_skip_verify);
  CHECK(mtls.tls->root_cas == std::vector<std::string>{"/etc/ca.pem"});
  CHECK(mtls.tls->certificates.at(0).cert_file == "/etc/client.crt");
  CHECK(d.udp.services.at("dns").servers[0].address == "127.0.11.2:53");
  CHECK(d.udp.routers.at("dns").entry_points == std::vector<std::string>{"dns"});

  REQUIRE(d.tls.certificates.size() == 1);
  CHECK(d.tls.certificates[0].stores == std::vector<std::string>{"default"});
  CHECK(d.tls.options.at("modern").min_version == "VersionTLS13");
  CHECK(d.tls.options.at("modern").sni_strict);
  CHECK(d.tls.options.at("modern").alpn_protocols.size() == 2);
  CHECK(d.tls.stores.at("default").default_certificate->key_file == "/certs/default.key");
  CHECK(f.sources.at("http.routers.api") == "/etc/portier/dynamic.yml");
}

TEST_CASE("dynamic_yaml output parses back to the same model") {
  const Fragment f = parse_dynamic_yaml(kRealistic, "a.yml");
  REQUIRE(f.errors.empty());
  const std::string yaml = dynamic_yaml(f.dynamic);
  const Fragment again = parse_dynamic_yaml(yaml, "b.yml");
  INFO(yaml << messages(again));
  CHECK(again.errors.empty());
  CHECK(again.dynamic == f.dynamic);
  CHECK(dynamic_yaml(again.dynamic) == yaml);
}

TEST_CASE("an empty file is a valid empty fragment") {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n"}) {
    const Fragment f = parse_dynamic_yaml(text, "empty.yml");
    CHECK(f.errors.empty());
    CHECK(f.dynamic == Dynamic{});
  }
}

TEST_CASE("each problem is reported with its path and line; bad items are skipped alone") {
  const char* text = R"Y(http:
  routers:
    good:
      rule: Host(`a`)
      service: s
    typo:
      rule: Host(`b`)
      servce: s
    badprio:
      rule: Host(`c`)
      service: s
      priority: high
  services:
    s:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:1
    nothing: {}
  middlewares:
    auth:
      plugin:
        demo: {}
    weird:
      frobnicate: {}
    ok:
      addPrefix:
        prefix: /x
    hc:
      headers:
        stsSeconds: [1]
tls:
  options:
    old:
      minVersion: TLS1.0
bogus: 1
)Y";
  const Fragment f = parse_dynamic_yaml(text, "/d/x.yml");
  auto find = [&](const std::string& label) -> const ConfigError* {
    for (const auto& e : f.errors)
      if (e.label == label) return &e;
    return nullptr;
  };
  INFO(messages(f));
  const ConfigError* e = find("http.routers.typo.servce");
  REQUIRE(e);
  CHECK(e->line == 8);
  CHECK(e->provider == "file");
  CHECK(e->source == "/d/x.yml");
  CHECK(e->message == "unknown key \"servce\"");
  REQUIRE(find("http.routers.badprio.priority"));
  CHECK(find("http.routers.badprio.priority")->line == 12);
  REQUIRE(find("http.services.nothing"));
  CHECK(find("http.services.nothing")->line == 18);
  REQUIRE(find("http.middlewares.auth.plugin"));
  CHECK(find("http.middlewares.auth.plugin")->message ==
        "middleware type \"plugin\" is not supported");
  CHECK(find("http.middlewares.auth.plugin")->line == 21);
  REQUIRE(find("http.middlewares.weird.frobnicate"));
  REQUIRE(find("http.middlewares.hc.headers.stsSeconds"));
  REQUIRE(find("tls.options.old.minVersion"));
  CHECK(find("tls.options.old.minVersion")->line == 34);
  REQUIRE(find("bogus"));
  CHECK(find("bogus")->line == 35);
  CHECK(f.errors.size() == 8);

  CHECK(f.dynamic.http.routers.count("good") == 1);
  CHECK(f.dynamic.http.routers.count("typo") == 0);
  CHECK(f.dynamic.http.routers.count("badprio") == 0);
  CHECK(f.dynamic.http.services.count("s") == 1);
  CHECK(f.dynamic.http.services.count("nothing") == 0);
  CHECK(f.dynamic.http.middlewares.size() == 1);
  CHECK(f.dynamic.http.middlewares.count("ok") == 1);
  CHECK(f.dynamic.tls.options.empty());
}

TEST_CASE("invalid YAML is one error with its line") {
  const Fragment f = parse_dynamic_yaml("http:\n  routers:\n    a: [unclosed\n", "bad.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].message.rfind("invalid YAML", 0) == 0);
  CHECK(f.errors[0].line > 0);
  CHECK(f.dynamic == Dynamic{});
}

TEST_CASE("names with @ and wrong shapes are rejected") {
  const Fragment f = parse_dynamic_yaml(R"Y(
http:
  routers:
    "x@docker":
      rule: Host(`a`)
      service: s
    y: notamap
  services: [1, 2]
)Y",
                                        "f.yml");
  CHECK(f.errors.size() == 3);
  CHECK(f.dynamic.http.routers.empty());
}

TEST_CASE("durations accept Go syntax and bare seconds") {
  const Fragment f = parse_dynamic_yaml(R"Y(
http:
  services:
    a:
      loadBalancer:
        healthCheck: {interval: 1m30s, timeout: 2}
    b:
      loadBalancer:
        healthCheck: {interval: 1.5s, timeout: soon}
)Y",
                                        "f.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].label == "http.services.b.loadBalancer.healthCheck.timeout");
  const HealthCheck& h = *f.dynamic.http.services.at("a").load_balancer->health_check;
  CHECK(h.interval == Millis(90000));
  CHECK(h.timeout == Millis(2000));
}

// Keys Traefik has and portier does not implement yet are errors naming the key, never
// accepted and ignored (issue 14).
TEST_CASE("dynamic yaml: unimplemented keys are 'not supported' errors", "[dynamic_yaml]") {
  const std::pair<const char*, const char*> cases[] = {
      {"http:\n  middlewares:\n    b:\n      buffering:\n        retryExpression: \"Attempts() < 2\"\n",
       "retryExpression is not supported"},
      {"http:\n  services:\n    s:\n      loadBalancer:\n        servers: [{url: \"http://127.0.0.1:1\"}]\n"
       "        healthCheck: {path: /, scheme: https}\n",
       "scheme is not supported"},
      {"tcp:\n  services:\n    t:\n      loadBalancer:\n        servers: [{address: \"127.0.0.1:1\"}]\n"
       "        healthCheck: {}\n",
       "healthCheck (TCP health checks) is not supported"},
      {"tcp:\n  serversTransports:\n    t:\n      tls:\n        spiffe: {}\n", "spiffe is not supported"},
      {"tcp:\n  serversTransports:\n    t:\n      proxyProtocol: {version: 3}\n",
       "invalid PROXY protocol version \"3\": out of range 1..2"},
  };
  for (const auto& [yaml, message] : cases) {
    INFO(yaml);
    auto f = portier::config::parse_dynamic_yaml(yaml, "/d/x.yml");
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].message == message);  // the YAML path is in f.errors[0].label
  }
}

// Found by tests/fuzz/dynamic_yaml_fuzz: a router name with the byte 0x93 (not UTF-8) was
// accepted, and /routes.json (nlohmann::json::dump) then threw type_error 316 out of the
// diagnostics handler and `portier check`. YAML must be Unicode; Traefik refuses such files.
TEST_CASE("a file that is not UTF-8 is one error and loads nothing", "[fuzz]") {
  Fragment f = parse_dynamic_yaml("http:\n  routers:\n    r\x93:\n      rule: Host(`a`)\n      service: s\n", "bad.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].line == 3);
  CHECK(f.errors[0].message.find("not valid UTF-8") != std::string::npos);
  CHECK(f.dynamic.http.routers.empty());
}

TEST_CASE("invalid_utf8_at follows RFC 3629", "[fuzz]") {
  constexpr auto npos = std::string_view::npos;
  CHECK(invalid_utf8_at("plain ascii") == npos);
  CHECK(invalid_utf8_at("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf") == npos);
  CHECK(invalid_utf8_at("ab\x93") == 2);              // lone continuation byte
  CHECK(invalid_utf8_at("ab\xc0\xaf") == 2);          // overlong '/'
  CHECK(invalid_utf8_at("\xe0\x80\xaf") == 0);        // overlong, 3 bytes
  CHECK(invalid_utf8_at("\xed\xa0\x80") == 0);        // surrogate U+D800
  CHECK(invalid_utf8_at("\xf4\x90\x80\x80") == 0);    // above U+10FFFF
  CHECK(invalid_utf8_at("x\xe2\x82") == 1);           // truncated
  CHECK(invalid_utf8_at("x\xe2\x82(") == 1);          // bad third byte
  CHECK(line_at_offset("a\nb\nc", 4) == 3);
}

// Found by tests/fuzz/dynamic_yaml_fuzz: on `"\` followed by a two-byte character, yaml-cpp's
// message "unknown escape character: X" holds only the first byte, and /routes.json threw
// type_error 316 (incomplete UTF-8 string) on that error text.
TEST_CASE("a YAML error quoting part of a multi-byte character is still UTF-8", "[fuzz]") {
  Fragment f = parse_dynamic_yaml("http:\n  routers:\n    a:\n      rule: \"\\\xd6\xb8\"\n", "x.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].message.find("unknown escape character") != std::string::npos);
  CHECK(invalid_utf8_at(f.errors[0].message) == std::string_view::npos);
  CHECK(valid_utf8("a\xd6 b\xc3\xa9") == "a\xEF\xBF\xBD b\xc3\xa9");
}

// Found by tests/fuzz/dynamic_yaml_fuzz (round trip parse(dynamic_yaml(d)) == d): a service
// with an empty value ("hello:" and nothing under it) was accepted without loadBalancer or
// weighted, and the writer then produced "hello: {}", which reads back as an error. An empty
// service is now the same error as "{}".
TEST_CASE("a service with an empty value is an error, like an empty mapping", "[fuzz]") {
  Fragment f = parse_dynamic_yaml("http:\n  services:\n    a:\n    b: {}\ntcp:\n  services:\n    t:\nudp:\n  services:\n    u:\n", "x.yml");
  REQUIRE(f.errors.size() == 4);
  CHECK(f.errors[0].label == "http.services.a");
  CHECK(f.errors[0].message == "a service needs loadBalancer, weighted, mirroring or failover");
  CHECK(f.errors[1].label == "http.services.b");
  CHECK(f.errors[2].message == "a TCP service needs loadBalancer");
  CHECK(f.errors[3].message == "a UDP service needs loadBalancer");
  CHECK(f.dynamic.http.services.empty());
  CHECK(f.dynamic.tcp.services.empty());
}

// Found by tests/fuzz/dynamic_yaml_fuzz: "hello\x1f\0NUL" as a key came out of yaml-cpp as
// "hello\x1f\x85UL" (the NUL turned into a lone 0x85 byte), and /routes.json threw on the
// "unknown key" error quoting it. Control characters are refused before parsing.
TEST_CASE("control characters other than tab, LF and CR are refused with their line", "[fuzz]") {
  using namespace std::string_literals;
  Fragment f = parse_dynamic_yaml("http:\n  hello\x1f\0NUL: 1\n"s, "x.yml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].line == 2);
  CHECK(f.errors[0].message == "invalid YAML: control character 0x1F is not allowed");
  int line = 0;
  CHECK(yaml_text_problem("a:\tb\r\n", line).empty());
  CHECK(yaml_text_problem("a: b\n\x7f", line) == "control character 0x7F is not allowed");
  CHECK(line == 2);
}

TEST_CASE("access-control middlewares load from files and round-trip through dynamic_yaml") {
  const char* text = R"Y(http:
  middlewares:
    auth:
      basicAuth:
        users: ["alice:$apr1$eNWI5oh5$YeVKwLvZ8O0bYsRpSPl5d0"]
        usersFile: /etc/portier/users
        realm: admin
        removeHeader: true
        headerField: X-User
    office:
      IPAllowList:
        sourceRange: [192.0.2.0/24, "2001:db8::/32"]
        ipStrategy: {depth: 1, ipv6Subnet: 64}
        rejectStatusCode: 404
    old:
      ipWhiteList:
        sourceRange: [10.0.0.1]
        ipStrategy: {excludedIPs: [10.0.0.2]}
    limit:
      rateLimit:
        average: 100
        period: 1m
        burst: 50
        sourceCriterion: {requestHost: true}
    one:
      inFlightReq:
        amount: 3
        sourceCriterion: {ipStrategy: {depth: 2}}
)Y";
  const Fragment f = parse_dynamic_yaml(text, "a.yml");
  INFO(messages(f));
  REQUIRE(f.errors.empty());
  const auto& m = f.dynamic.http.middlewares;
  const auto& auth = std::get<BasicAuthMw>(m.at("auth").spec);
  CHECK(auth.users.at(0) == "alice:$apr1$eNWI5oh5$YeVKwLvZ8O0bYsRpSPl5d0");
  CHECK(auth.users_file == "/etc/portier/users");
  CHECK(auth.realm == "admin");
  CHECK(auth.remove_header);
  CHECK(auth.header_field == "X-User");
  const auto& office = std::get<IpAllowListMw>(m.at("office").spec);
  CHECK(office.ip_strategy->depth == 1);
  CHECK(office.ip_strategy->ipv6_subnet == 64);
  CHECK(office.reject_status_code == 404);
  CHECK(std::get<IpWhiteListMw>(m.at("old").spec).ip_strategy->excluded_ips.at(0) == "10.0.0.2");
  const auto& limit = std::get<RateLimitMw>(m.at("limit").spec);
  CHECK(limit.period == Millis(60000));
  CHECK(limit.source_criterion->request_host);
  CHECK(std::get<InFlightReqMw>(m.at("one").spec).source_criterion->ip_strategy->depth == 2);
  const std::string yaml = dynamic_yaml(f.dynamic);
  const Fragment again = parse_dynamic_yaml(yaml, "b.yml");
  INFO(yaml << messages(again));
  CHECK(again.errors.empty());
  CHECK(again.dynamic == f.dynamic);
}

TEST_CASE("access-control middlewares: fields Traefik does not have, or portier not, are errors") {
  const char* text = R"Y(http:
  middlewares:
    old:
      ipWhiteList:
        sourceRange: [10.0.0.1]
        rejectStatusCode: 404
    limit:
      rateLimit:
        average: 1
        redis: {endpoints: ["x:6379"]}
    auth:
      basicAuth:
        userz: [a]
)Y";
  const Fragment f = parse_dynamic_yaml(text, "a.yml");
  std::set<std::string> labels;
  for (const auto& e : f.errors) labels.insert(e.label + ": " + e.message);
  INFO(messages(f));
  CHECK(labels.count("http.middlewares.old.ipWhiteList.rejectStatusCode: unknown key \"rejectStatusCode\"") == 1);
  CHECK(labels.count("http.middlewares.limit.rateLimit.redis: redis is not supported") == 1);
  CHECK(labels.count("http.middlewares.auth.basicAuth.userz: unknown key \"userz\"") == 1);
  CHECK(f.dynamic.http.middlewares.empty());
}

TEST_CASE("services of services: fields, defaults and bad values naming the key", "[services]") {
  Fragment f = parse_dynamic_yaml(R"Y(
http:
  services:
    m:
      mirroring:
        service: main
        mirrors: [{name: copy, percent: 20}]
    w:
      weighted:
        services: [{name: a}]
        sticky: {cookie: {name: lvl1, secure: true}}
        healthCheck: {}
    f:
      failover: {service: main, fallback: spare}
    bad-percent:
      mirroring: {service: main, mirrors: [{name: copy, percent: 101}]}
    bad-size:
      mirroring: {service: main, maxBodySize: -2}
    bad-hc:
      failover: {service: main, fallback: spare, healthCheck: {path: /x}}
    no-fallback:
      failover: {service: main}
    errors:
      failover: {service: main, fallback: spare, errors: {status: ["500"]}}
    two:
      weighted: {services: [{name: a}]}
      failover: {service: main, fallback: spare}
)Y", "s.yml");
  const auto& m = *f.dynamic.http.services.at("m").mirroring;
  CHECK(m.mirror_body);  // Traefik's defaults
  CHECK(m.max_body_size == -1);
  CHECK(m.mirrors == std::vector<MirrorRef>{{"copy", 20}});
  const auto& w = *f.dynamic.http.services.at("w").weighted;
  CHECK(w.services[0].weight == 1);
  CHECK(w.sticky_cookie->name == "lvl1");
  CHECK(w.health_check.has_value());
  CHECK(f.dynamic.http.services.at("f").failover->fallback == "spare");
  std::map<std::string, std::string> errors;
  for (const auto& e : f.errors) errors[e.label] = e.message;
  CHECK(errors.at("http.services.bad-percent.mirroring.mirrors[0].percent") ==
        "invalid percent \"101\": out of range 0..100");
  CHECK(errors.at("http.services.bad-size.mirroring.maxBodySize").find("out of range -1..") != std::string::npos);
  CHECK(errors.count("http.services.bad-hc.failover.healthCheck.path") == 1);
  CHECK(errors.at("http.services.no-fallback.failover.fallback") == "fallback is required");
  CHECK(errors.at("http.services.errors.failover.errors") ==
        "errors (failover on response status) is not supported");
  CHECK(errors.at("http.services.two") ==
        "a service has exactly one of loadBalancer, weighted, mirroring or failover");
  CHECK(f.errors.size() == 6);
}
