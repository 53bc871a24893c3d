#include "proxy/rule_matcher.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace portier;
using proxy::ConnView;
using proxy::Header;
using proxy::HttpMatcher;
using proxy::RequestView;
using proxy::TcpMatcher;

namespace {

config::RuleNode parsed(std::string_view text, config::RuleKind kind) {
  auto r = config::parse_rule(text, kind);
  INFO("rule: " << text << "  error: " << r.error);
  REQUIRE(r.root.has_value());
  return *r.root;
}

HttpMatcher http(std::string_view text) {
  std::string error;
  auto m = proxy::compile_http_rule(parsed(text, config::RuleKind::http), &error);
  INFO("rule: " << text << "  error: " << error);
  REQUIRE(m.has_value());
  return *m;
}

TcpMatcher tcp(std::string_view text) {
  std::string error;
  auto m = proxy::compile_tcp_rule(parsed(text, config::RuleKind::tcp), &error);
  INFO("rule: " << text << "  error: " << error);
  REQUIRE(m.has_value());
  return *m;
}

boost::asio::ip::address ip(const char* s) { return boost::asio::ip::make_address(s); }

// A request with sensible defaults; tests override fields.
struct Req {
  std::vector<Header> headers;
  RequestView view;
  Req() {
    view.method = "GET";
    view.host = "example.com";
    view.path = "/";
    view.client_ip = ip("192.0.2.10");
  }
  Req& host(std::string_view h) { view.host = h; return *this; }
  Req& path(std::string_view p) { view.path = p; return *this; }
  Req& query(std::string_view q) { view.query = q; return *this; }
  Req& method(std::string_view m) { view.method = m; return *this; }
  Req& from(const char* a) { view.client_ip = ip(a); return *this; }
  Req& header(std::string_view n, std::string_view v) {
    headers.push_back({n, v});
    view.headers = headers;
    return *this;
  }
  operator const RequestView&() { return view; }
};

struct Conn {
  std::vector<std::string> protos;
  ConnView view;
  Conn() { view.client_ip = ip("192.0.2.10"); }
  Conn& sni(std::string_view s) { view.sni = s; view.is_tls = true; return *this; }
  Conn& plain() { view.sni = {}; view.is_tls = false; return *this; }
  Conn& alpn(std::vector<std::string> p) { protos = std::move(p); view.alpn = protos; return *this; }
  Conn& from(const char* a) { view.client_ip = ip(a); return *this; }
  operator const ConnView&() { return view; }
};

}  // namespace

TEST_CASE("matcher: Host is exact, normalised, never a wildcard", "[matcher]") {
  auto m = http("Host(`Example.COM.`)");
  CHECK(m.match(Req().host("example.com")));
  CHECK_FALSE(m.match(Req().host("www.example.com")));
  CHECK_FALSE(m.match(Req().host("")));
  CHECK(http("Host(`example.com:8443`)").match(Req().host("example.com")));
  auto w = http("Host(`*.example.com`)");
  CHECK_FALSE(w.match(Req().host("a.example.com")));
  CHECK(w.match(Req().host("*.example.com")));
}

TEST_CASE("matcher: HostRegexp is unanchored RE2 over the host", "[matcher]") {
  auto m = http("HostRegexp(`^[a-z]+\\.example\\.com$`)");
  CHECK(m.match(Req().host("api.example.com")));
  CHECK_FALSE(m.match(Req().host("example.com")));
  CHECK_FALSE(m.match(Req().host("a.b.example.com")));
  CHECK(http("HostRegexp(`example`)").match(Req().host("www.example.org")));
}

TEST_CASE("matcher: Path, PathPrefix, PathRegexp see the decoded path", "[matcher]") {
  auto p = http("Path(`/api`)");
  CHECK(p.match(Req().path("/api")));
  CHECK_FALSE(p.match(Req().path("/api/")));
  CHECK_FALSE(p.match(Req().path("/ap")));
  CHECK(p.match(Req().path("/%61pi")));
  auto pp = http("PathPrefix(`/api/`)");
  CHECK(pp.match(Req().path("/api/")));
  CHECK(pp.match(Req().path("/api/users/7")));
  CHECK(pp.match(Req().path("/api%2Fusers")));
  CHECK_FALSE(pp.match(Req().path("/api")));
  CHECK_FALSE(pp.match(Req().path("/apix/")));
  CHECK(http("PathPrefix(`/`)").match(Req().path("/anything")));
  // An invalid escape stays literal.
  CHECK(http("Path(`/a%zz`)").match(Req().path("/a%zz")));
  CHECK(http("Path(`/a%`)").match(Req().path("/a%")));
  auto re = http("PathRegexp(`\\.(jpe?g|png)$`)");
  CHECK(re.match(Req().path("/img/cat.jpg")));
  CHECK(re.match(Req().path("/img/cat%2Epng")));
  CHECK_FALSE(re.match(Req().path("/img/cat.gif")));
  CHECK(http("PathRegexp(`^/users/[0-9]+$`)").match(Req().path("/users/42")));
  CHECK_FALSE(http("PathRegexp(`^/users/[0-9]+$`)").match(Req().path("/users/42/x")));
}

TEST_CASE("matcher: Method is case-sensitive, rule uppercased", "[matcher]") {
  auto m = http("Method(`post`)");
  CHECK(m.match(Req().method("POST")));
  CHECK_FALSE(m.match(Req().method("post")));
  CHECK_FALSE(m.match(Req().method("GET")));
  auto any = http("Method(`GET`, `HEAD`)");
  CHECK(any.match(Req().method("HEAD")));
  CHECK_FALSE(any.match(Req().method("PUT")));
}

TEST_CASE("matcher: Header and HeaderRegexp", "[matcher]") {
  auto m = http("Header(`X-Env`, `prod`)");
  CHECK(m.match(Req().header("x-env", "prod")));
  CHECK(m.match(Req().header("X-ENV", "dev").header("X-Env", "prod")));
  CHECK_FALSE(m.match(Req().header("X-Env", "Prod")));
  CHECK_FALSE(m.match(Req().header("X-Env", "prod,dev")));
  CHECK_FALSE(m.match(Req().header("X-Other", "prod")));
  CHECK_FALSE(m.match(Req()));
  CHECK(http("Header(`X-Empty`, ``)").match(Req().header("X-Empty", "")));
  auto re = http("HeaderRegexp(`Content-Type`, `^application/(json|xml)`)");
  CHECK(re.match(Req().header("content-type", "application/json; charset=utf-8")));
  CHECK(re.match(Req().header("Content-Type", "text/plain").header("content-type", "application/xml")));
  CHECK_FALSE(re.match(Req().header("Content-Type", "text/html")));
}

TEST_CASE("matcher: Query and QueryRegexp follow Go's ParseQuery", "[matcher]") {
  auto key = http("Query(`debug`)");
  CHECK(key.match(Req().query("debug")));
  CHECK(key.match(Req().query("a=1&debug=&b=2")));
  CHECK(key.match(Req().query("de%62ug=1")));
  CHECK_FALSE(key.match(Req().query("debugx=1")));
  CHECK_FALSE(key.match(Req().query("")));
  CHECK_FALSE(key.match(Req().query("debug=%zz")));   // bad escape: Go drops the pair
  CHECK_FALSE(key.match(Req().query("debug=1;x=2")));  // semicolon: Go drops the pair
  auto kv = http("Query(`q`, `hello world`)");
  CHECK(kv.match(Req().query("q=hello+world")));
  CHECK(kv.match(Req().query("q=x&q=hello%20world")));
  CHECK_FALSE(kv.match(Req().query("q=hello")));
  CHECK_FALSE(kv.match(Req().query("q=hello+world+")));
  CHECK_FALSE(kv.match(Req().query("qq=hello+world")));
  CHECK(http("Query(`q`, ``)").match(Req().query("q=")));
  CHECK(http("Query(`q`, ``)").match(Req().query("q")));
  CHECK_FALSE(http("Query(`q`, ``)").match(Req().query("q=1")));
  auto re = http("QueryRegexp(`id`, `^[0-9]+$`)");
  CHECK(re.match(Req().query("x=a&id=123")));
  CHECK(re.match(Req().query("id=abc&id=%31%32")));
  CHECK_FALSE(re.match(Req().query("id=12a")));
  CHECK_FALSE(re.match(Req().query("ids=12")));
}

TEST_CASE("matcher: ClientIP with IPs and CIDRs, v4 and v6", "[matcher]") {
  auto net = http("ClientIP(`10.0.0.0/8`)");
  CHECK(net.match(Req().from("10.20.30.40")));
  CHECK(net.match(Req().from("::ffff:10.1.2.3")));
  CHECK_FALSE(net.match(Req().from("11.0.0.1")));
  CHECK_FALSE(net.match(Req().from("::1")));
  auto one = http("ClientIP(`192.168.1.7`)");
  CHECK(one.match(Req().from("192.168.1.7")));
  CHECK_FALSE(one.match(Req().from("192.168.1.8")));
  auto odd = http("ClientIP(`172.16.0.0/12`)");
  CHECK(odd.match(Req().from("172.31.255.255")));
  CHECK_FALSE(odd.match(Req().from("172.32.0.0")));
  auto v6 = http("ClientIP(`2001:db8::/32`)");
  CHECK(v6.match(Req().from("2001:db8:1::5")));
  CHECK_FALSE(v6.match(Req().from("2001:db9::5")));
  CHECK_FALSE(v6.match(Req().from("32.1.13.184")));
  CHECK(http("ClientIP(`::1`)").match(Req().from("::1")));
  CHECK(http("ClientIP(`0.0.0.0/0`)").match(Req().from("8.8.8.8")));
  CHECK(http("ClientIP(`::ffff:10.0.0.0/104`)").match(Req().from("10.9.9.9")));
}

TEST_CASE("matcher: operators, precedence and parentheses", "[matcher]") {
  // a || b && c  ==  a || (b && c)
  auto m = http("Host(`a.com`) || Host(`b.com`) && Path(`/c`)");
  CHECK(m.match(Req().host("a.com").path("/x")));
  CHECK(m.match(Req().host("b.com").path("/c")));
  CHECK_FALSE(m.match(Req().host("b.com").path("/x")));
  auto p = http("(Host(`a.com`) || Host(`b.com`)) && Path(`/c`)");
  CHECK_FALSE(p.match(Req().host("a.com").path("/x")));
  CHECK(p.match(Req().host("a.com").path("/c")));
  auto n = http("Host(`a.com`) && !PathPrefix(`/admin`)");
  CHECK(n.match(Req().host("a.com").path("/")));
  CHECK_FALSE(n.match(Req().host("a.com").path("/admin/x")));
  CHECK_FALSE(n.match(Req().host("b.com").path("/")));
  auto nn = http("!(Host(`a.com`) || Method(`POST`))");
  CHECK(nn.match(Req().host("b.com").method("GET")));
  CHECK_FALSE(nn.match(Req().host("b.com").method("POST")));
  CHECK(http("!!Host(`a.com`)").match(Req().host("a.com")));
  auto mix = http("(Host(`a.com`) && !Method(`GET`)) || (ClientIP(`10.0.0.0/8`) && !Path(`/x`))");
  CHECK(mix.match(Req().host("a.com").method("PUT")));
  CHECK_FALSE(mix.match(Req().host("a.com").method("GET")));
  CHECK(mix.match(Req().host("a.com").method("GET").from("10.0.0.1")));
  CHECK_FALSE(mix.match(Req().host("a.com").method("GET").from("10.0.0.1").path("/x")));
}

TEST_CASE("matcher: exhaustive truth table of a three-variable rule", "[matcher]") {
  auto m = http("!Host(`a`) && (Path(`/p`) || !Method(`GET`)) || Host(`a`) && Method(`GET`)");
  for (int bits = 0; bits < 8; ++bits) {
    bool a = bits & 1, p = bits & 2, g = bits & 4;
    bool want = (!a && (p || !g)) || (a && g);
    Req r;
    r.host(a ? "a" : "b").path(p ? "/p" : "/q").method(g ? "GET" : "PUT");
    INFO("a=" << a << " p=" << p << " g=" << g);
    CHECK(m.match(r) == want);
  }
}

TEST_CASE("matcher: copies share the program and work across threads", "[matcher]") {
  auto m = http("HostRegexp(`^t[0-9]+\\.example$`) && PathPrefix(`/x`)");
  HttpMatcher copy = m;
  int hits[2] = {0, 0};
  auto work = [&](int slot) {
    for (int i = 0; i < 2000; ++i) {
      std::string host = "t" + std::to_string(i) + ".example";
      Req r;
      r.host(host).path(i % 2 ? "/x/y" : "/y");
      if ((slot ? copy : m).match(r)) ++hits[slot];
    }
  };
  std::thread t1(work, 0), t2(work, 1);
  t1.join();
  t2.join();
  CHECK(hits[0] == 1000);
  CHECK(hits[1] == 1000);
  HttpMatcher empty;
  CHECK_FALSE(empty.match(Req()));
}

TEST_CASE("matcher: compile errors for hand-built ASTs", "[matcher]") {
  std::string error;
  config::RuleNode bad;
  bad.name = "HostSNI";
  bad.args = {"a.com"};
  CHECK_FALSE(proxy::compile_http_rule(bad, &error).has_value());
  CHECK(error == "`HostSNI` is not an HTTP matcher");
  bad.name = "PathRegexp";
  bad.args = {"(x"};
  CHECK_FALSE(proxy::compile_http_rule(bad, &error).has_value());
  CHECK(error.find("PathRegexp: invalid regular expression `(x`") == 0);
  bad.name = "ClientIP";
  bad.args = {"300.0.0.1"};
  CHECK_FALSE(proxy::compile_tcp_rule(bad, &error).has_value());
  CHECK(error == "ClientIP: `300.0.0.1` is not an IP address or CIDR");
  bad.name = "Header";
  bad.args = {"X"};
  CHECK_FALSE(proxy::compile_http_rule(bad, nullptr).has_value());
  config::RuleNode empty_or;
  empty_or.op = config::RuleNode::Op::or_;
  CHECK_FALSE(proxy::compile_http_rule(empty_or, &error).has_value());
}

TEST_CASE("matcher: host_only_names", "[matcher]") {
  using V = std::vector<std::string>;
  auto names = [](std::string_view t) { return proxy::host_only_names(parsed(t, config::RuleKind::http)); };
  CHECK(names("Host(`A.com`)") == V{"a.com"});
  CHECK(names("Host(`a.com`) || Host(`b.com.`)") == V{"a.com", "b.com"});
  CHECK(names("Host(`a.com`, `b.com`) || (Host(`c.com`))") == V{"a.com", "b.com", "c.com"});
  CHECK(names("Host(`a.com:80`)") == V{"a.com"});
  CHECK_FALSE(names("Host(`a.com`) && Path(`/`)").has_value());
  CHECK_FALSE(names("Host(`a.com`) || PathPrefix(`/`)").has_value());
  CHECK_FALSE(names("!Host(`a.com`)").has_value());
  CHECK_FALSE(names("HostRegexp(`a`)").has_value());
  CHECK_FALSE(names("PathPrefix(`/`)").has_value());
}

TEST_CASE("matcher: HostSNI, HostSNIRegexp, ALPN, ClientIP and catch_all", "[matcher]") {
  auto any = tcp("HostSNI(`*`)");
  CHECK(any.catch_all());
  CHECK(any.match(Conn().plain()));
  CHECK(any.match(Conn().sni("x.com")));
  CHECK(any.match(Conn().sni("")));

  auto one = tcp("HostSNI(`DB.example.com`)");
  CHECK_FALSE(one.catch_all());
  CHECK(one.match(Conn().sni("db.example.com")));
  CHECK(one.match(Conn().sni("db.example.com.")));
  CHECK_FALSE(one.match(Conn().sni("x.example.com")));
  CHECK_FALSE(one.match(Conn().plain()));
  Conn no_sni;
  no_sni.view.is_tls = true;
  CHECK_FALSE(one.match(no_sni));

  auto re = tcp("HostSNIRegexp(`^[a-z]+\\.example\\.com$`)");
  CHECK(re.match(Conn().sni("db.example.com")));
  CHECK_FALSE(re.match(Conn().sni("example.com")));
  CHECK_FALSE(re.match(Conn().plain()));

  auto alpn = tcp("HostSNI(`*`) && ALPN(`h2`)");
  CHECK_FALSE(alpn.catch_all());
  CHECK(alpn.match(Conn().sni("a").alpn({"http/1.1", "h2"})));
  CHECK_FALSE(alpn.match(Conn().sni("a").alpn({"http/1.1"})));
  CHECK_FALSE(alpn.match(Conn().sni("a")));

  auto cip = tcp("ClientIP(`10.0.0.0/8`) && !HostSNI(`x.com`)");
  CHECK(cip.match(Conn().plain().from("10.1.1.1")));
  CHECK_FALSE(cip.match(Conn().sni("x.com").from("10.1.1.1")));
  CHECK_FALSE(cip.match(Conn().plain().from("8.8.8.8")));

  auto multi = tcp("HostSNI(`a.com`, `b.com`)");
  CHECK(multi.match(Conn().sni("b.com")));
  CHECK_FALSE(multi.match(Conn().sni("c.com")));
  CHECK_FALSE(tcp("HostSNI(`*`) || HostSNI(`a.com`)").catch_all());
  TcpMatcher empty;
  CHECK_FALSE(empty.catch_all());
  CHECK_FALSE(empty.match(Conn().plain()));
}
