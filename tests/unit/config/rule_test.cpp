#include "config/rule.hpp"

#include <catch2/catch.hpp>

#include "config/yaml_tree.hpp"

using portier::config::parse_rule;
using portier::config::rule_host_names;
using portier::config::RuleKind;
using portier::config::RuleNode;
using Op = RuleNode::Op;

namespace {

RuleNode ok(std::string_view text, RuleKind kind = RuleKind::http) {
  auto r = parse_rule(text, kind);
  INFO("rule: " << text << "  error: " << r.error);
  REQUIRE(r.error.empty());
  REQUIRE(r.root.has_value());
  return *r.root;
}

std::string err(std::string_view text, RuleKind kind = RuleKind::http) {
  auto r = parse_rule(text, kind);
  INFO("rule: " << text);
  REQUIRE_FALSE(r.root.has_value());
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

// Compact printing of an AST: Host(a) & (Path(/) | !Method(GET))
std::string show(const RuleNode& n) {
  switch (n.op) {
    case Op::matcher: {
      std::string s = n.name + "(";
      for (size_t i = 0; i < n.args.size(); ++i) s += (i ? "," : "") + n.args[i];
      return s + ")";
    }
    case Op::not_: return "!" + show(n.children[0]);
    case Op::and_:
    case Op::or_: {
      std::string s = "(";
      for (size_t i = 0; i < n.children.size(); ++i)
        s += (i ? (n.op == Op::and_ ? " & " : " | ") : "") + show(n.children[i]);
      return s + ")";
    }
  }
  return "?";
}

}  // namespace

TEST_CASE("rule: single matchers of every HTTP kind parse", "[rule]") {
  CHECK(show(ok("Host(`example.com`)")) == "Host(example.com)");
  CHECK(show(ok("HostRegexp(`^[a-z]+\\.example\\.com$`)")) == "HostRegexp(^[a-z]+\\.example\\.com$)");
  CHECK(show(ok("Path(`/api`)")) == "Path(/api)");
  CHECK(show(ok("PathPrefix(`/api/`)")) == "PathPrefix(/api/)");
  CHECK(show(ok("PathRegexp(`\\.(jpe?g|png)$`)")) == "PathRegexp(\\.(jpe?g|png)$)");
  CHECK(show(ok("Method(`GET`)")) == "Method(GET)");
  CHECK(show(ok("Header(`X-Env`, `prod`)")) == "Header(X-Env,prod)");
  CHECK(show(ok("HeaderRegexp(`X-Env`, `^pr`)")) == "HeaderRegexp(X-Env,^pr)");
  CHECK(show(ok("Query(`debug`)")) == "Query(debug)");
  CHECK(show(ok("Query(`mode`, `fast`)")) == "Query(mode,fast)");
  CHECK(show(ok("Query(`mode`, ``)")) == "Query(mode,)");
  CHECK(show(ok("QueryRegexp(`mode`, `^f`)")) == "QueryRegexp(mode,^f)");
  CHECK(show(ok("ClientIP(`10.0.0.0/8`)")) == "ClientIP(10.0.0.0/8)");
  CHECK(show(ok("ClientIP(`::1`)")) == "ClientIP(::1)");
  CHECK(show(ok("ClientIP(`fd00::/8`)")) == "ClientIP(fd00::/8)");
  CHECK(show(ok("ClientIP(`192.168.1.7`)")) == "ClientIP(192.168.1.7)");
}

TEST_CASE("rule: TCP matchers parse", "[rule]") {
  CHECK(show(ok("HostSNI(`*`)", RuleKind::tcp)) == "HostSNI(*)");
  CHECK(show(ok("HostSNI(`db.example.com`)", RuleKind::tcp)) == "HostSNI(db.example.com)");
  CHECK(show(ok("HostSNIRegexp(`^.+\\.example\\.com$`)", RuleKind::tcp)) ==
        "HostSNIRegexp(^.+\\.example\\.com$)");
  CHECK(show(ok("ALPN(`h2`)", RuleKind::tcp)) == "ALPN(h2)");
  CHECK(show(ok("ClientIP(`10.1.0.0/16`)", RuleKind::tcp)) == "ClientIP(10.1.0.0/16)");
  CHECK(show(ok("HostSNI(`a.com`) && !ALPN(`h2`)", RuleKind::tcp)) == "(HostSNI(a.com) & !ALPN(h2))");
}

TEST_CASE("rule: matcher names are case-insensitive and canonicalised", "[rule]") {
  CHECK(show(ok("host(`a.com`)")) == "Host(a.com)");
  CHECK(show(ok("PATHPREFIX(`/x`)")) == "PathPrefix(/x)");
  CHECK(show(ok("hostsni(`*`)", RuleKind::tcp)) == "HostSNI(*)");
}

TEST_CASE("rule: precedence ! > && > ||", "[rule]") {
  CHECK(show(ok("Host(`a`) || Host(`b`) && Path(`/c`)")) == "(Host(a) | (Host(b) & Path(/c)))");
  CHECK(show(ok("Host(`a`) && Host(`b`) || Path(`/c`)")) == "((Host(a) & Host(b)) | Path(/c))");
  CHECK(show(ok("!Host(`a`) && Path(`/`)")) == "(!Host(a) & Path(/))");
  CHECK(show(ok("!!Host(`a`)")) == "!!Host(a)");
  CHECK(show(ok("Host(`a`) && Path(`/b`) && Method(`GET`)")) == "(Host(a) & Path(/b) & Method(GET))");
  CHECK(show(ok("Host(`a`) || Host(`b`) || Host(`c`)")) == "(Host(a) | Host(b) | Host(c))");
}

TEST_CASE("rule: parentheses override precedence", "[rule]") {
  CHECK(show(ok("(Host(`a`) || Host(`b`)) && Path(`/c`)")) == "((Host(a) | Host(b)) & Path(/c))");
  CHECK(show(ok("!(Host(`a`) || Host(`b`))")) == "!(Host(a) | Host(b))");
  CHECK(show(ok("((((Host(`a`)))))")) == "Host(a)");
  CHECK(show(ok("Host(`a`)&&!Path(`/`)||Method(`GET`)")) == "((Host(a) & !Path(/)) | Method(GET))");
  CHECK(show(ok("Host(`a`)\n\t&& Path(`/`)\r\n")) == "(Host(a) & Path(/))");
  CHECK(show(ok("  Host( `a` ,  ) ")) == "Host(a)");  // Go allows a trailing comma
}

TEST_CASE("rule: quotes and Go escapes", "[rule]") {
  CHECK(ok("Host(\"example.com\")").args[0] == "example.com");
  CHECK(ok("Header(\"X-A\", \"a\\\"b\")").args[1] == "a\"b");
  CHECK(ok("Header(\"X-A\", \"tab\\there\")").args[1] == "tab\there");
  CHECK(ok("Header(\"X-A\", \"\\x41\\101\\u00e9\\\\\")").args[1] == "AA\xC3\xA9\\");
  CHECK(ok("Header(\"X-A\", \"\\U0001F600\")").args[1] == "\xF0\x9F\x98\x80");
  // Backticks are raw: backslashes stay.
  CHECK(ok("PathRegexp(`^/a\\d+$`)").args[0] == "^/a\\d+$");
  CHECK(ok("PathRegexp(\"^/a\\\\d+$\")").args[0] == "^/a\\d+$");
  // Mixed quote styles in one matcher.
  CHECK(show(ok("Header(`X-A`, \"b\")")) == "Header(X-A,b)");
  CHECK(err("Header(`X-A`, \"\\q\")").find("invalid escape `\\q` at column 16") != std::string::npos);
  CHECK(err("Header(`X-A`, \"\\'\")").find("invalid escape") != std::string::npos);
  CHECK(err("Header(`X-A`, \"\\uD800\")").find("invalid Unicode escape") != std::string::npos);
  CHECK(err("Header(`X-A`, \"\\400\")").find("invalid octal escape") != std::string::npos);
}

TEST_CASE("rule: Traefik v2 multi-argument form is an OR", "[rule]") {
  CHECK(show(ok("Host(`a.com`, `b.com`)")) == "(Host(a.com) | Host(b.com))");
  CHECK(show(ok("PathPrefix(`/a`, `/b`) && Method(`GET`, `POST`)")) ==
        "((PathPrefix(/a) | PathPrefix(/b)) & (Method(GET) | Method(POST)))");
  CHECK(show(ok("Path(`/a`, `/b`)")) == "(Path(/a) | Path(/b))");
  CHECK(show(ok("ClientIP(`10.0.0.0/8`, `::1`)")) == "(ClientIP(10.0.0.0/8) | ClientIP(::1))");
  CHECK(show(ok("HostSNI(`a.com`, `b.com`)", RuleKind::tcp)) == "(HostSNI(a.com) | HostSNI(b.com))");
  // Each argument is still validated.
  CHECK(err("Path(`/a`, `b`)") == "Path `b` does not start with `/` at column 12");
  CHECK(err("Host(`a.com`, ``)") == "Host has an empty argument at column 15");
}

TEST_CASE("rule: error messages name the problem and the column", "[rule]") {
  CHECK(err("") == "empty rule");
  CHECK(err("   ") == "empty rule");
  CHECK(err("Host(`a.com`") == "expected `)` after argument at column 13, found the end of the rule");
  CHECK(err("Host(`a.com` `b`)") == "expected `)` after argument at column 14, found a quoted argument");
  CHECK(err("Host(`a.com") == "missing closing quote for the argument at column 6");
  CHECK(err("Host(\"a.com)") == "missing closing quote for the argument at column 6");
  CHECK(err("Host('a.com')").find("unexpected `'` at column 6") == 0);
  CHECK(err("(Host(`a`)") == "expected `)` at column 11 to close `(` at column 1, found the end of the rule");
  CHECK(err("Host(`a`))") == "unexpected `)` at column 10 (no matching `(`)");
  CHECK(err("Host(`a`) Path(`/`)") == "expected `&&` or `||` at column 11, found `Path`");
  CHECK(err("Host(`a`) & Path(`/`)") == "expected `&&` at column 11");
  CHECK(err("Host(`a`) &&") == "expected a matcher, `!` or `(` at column 13, found the end of the rule");
  CHECK(err("Host `a`") == "expected `(` after Host at column 6, found a quoted argument");
  CHECK(err("Host(a.com)") == "expected a quoted argument at column 6, found `a`");
  CHECK(err("Host(`a`) ; x") == "unexpected character `;` at column 11");
  CHECK(err("Host(`a`,,)") == "expected a quoted argument at column 10, found `,`");
}

TEST_CASE("rule: unknown matchers list the existing ones, legacy ones get a hint", "[rule]") {
  CHECK(err("Hots(`a`)") ==
        "unknown matcher `Hots` at column 1 (HTTP matchers: Host, HostRegexp, Path, PathPrefix, "
        "PathRegexp, Method, Header, HeaderRegexp, Query, QueryRegexp, ClientIP)");
  CHECK(err("Foo(`a`)", RuleKind::tcp) ==
        "unknown matcher `Foo` at column 1 (TCP matchers: ClientIP, HostSNI, HostSNIRegexp, ALPN)");
  CHECK(err("HostHeader(`a`)") == "HostHeader is Traefik v1/v2 syntax; use Host at column 1");
  CHECK(err("Path(`/`) && PathPrefixStrip(`/a`)").find("PathPrefixStrip is Traefik v1 syntax") == 0);
  CHECK(err("Path(`/`) && PathPrefixStrip(`/a`)").find("at column 14") != std::string::npos);
  CHECK(err("Headers(`a`, `b`)").find("use Header") != std::string::npos);
  CHECK(err("HostSNI(`a`)") == "HostSNI is a TCP matcher, not allowed in an HTTP rule at column 1");
  CHECK(err("Host(`a`)", RuleKind::tcp) == "Host is an HTTP matcher, not allowed in a TCP rule at column 1");
}

TEST_CASE("rule: argument validation", "[rule]") {
  CHECK(err("Host()") == "Host takes 1 argument, got 0 at column 1");
  CHECK(err("Header(`X-A`)") == "Header takes 2 arguments, got 1 at column 1");
  CHECK(err("Query(`a`, `b`, `c`)") == "Query takes 1 or 2 arguments, got 3 at column 1");
  CHECK(err("PathRegexp(`/a`, `/b`)") == "PathRegexp takes 1 argument, got 2 at column 1");
  CHECK(err("Host(``)") == "Host has an empty argument at column 6");
  CHECK(err("Header(``, `x`)") == "Header has an empty argument at column 8");
  CHECK(show(ok("Header(`X-A`, ``)")) == "Header(X-A,)");
  CHECK(err("HostRegexp(`(a`)").find("invalid regular expression `(a`: missing )") == 0);
  CHECK(err("PathRegexp(`a**`)").find("invalid regular expression") == 0);
  CHECK(err("HeaderRegexp(`X`, `[`)").find("invalid regular expression `[`") == 0);
  CHECK(err("QueryRegexp(`k`, `(?<n>x)`)").find("invalid regular expression") == 0);
  CHECK(err("HostRegexp(`{sub:[a-z]+}.example.com`)").find("Traefik v2 `{name:regexp}` syntax") != std::string::npos);
  CHECK(err("Path(`/users/{id:[0-9]+}`)").find("use PathRegexp") != std::string::npos);
  CHECK(err("Path(`api`)") == "Path `api` does not start with `/` at column 6");
  CHECK(err("ClientIP(`10.0.0.0/33`)") == "ClientIP `10.0.0.0/33` is not an IP address or CIDR at column 10");
  CHECK(err("ClientIP(`10.0.0/8`)").find("is not an IP address or CIDR") != std::string::npos);
  CHECK(err("ClientIP(`::1/129`)").find("is not an IP address or CIDR") != std::string::npos);
  CHECK(err("ClientIP(`10.0.0.1/`)").find("is not an IP address or CIDR") != std::string::npos);
  CHECK(err("ClientIP(`example.com`)").find("is not an IP address or CIDR") != std::string::npos);
  CHECK(err("Method(`GE T`)") == "Method `GE T` is not an HTTP method name at column 8");
  CHECK(err("Header(`X A`, `b`)") == "`X A` is not a valid header name at column 8");
  CHECK(err("Query(`a=b`)").find("Traefik v2 syntax") != std::string::npos);
  CHECK(err("Host(`bücher.de`)").find("non-ASCII") != std::string::npos);
  CHECK(err("HostSNI(`*.example.com`)", RuleKind::tcp).find("wildcards need HostSNIRegexp") != std::string::npos);
  CHECK(err("HostSNI(`a b`)", RuleKind::tcp) == "HostSNI `a b` is not a valid host name at column 9");
  CHECK(err("ALPN(`acme-tls/1`)", RuleKind::tcp).find("reserved") != std::string::npos);
  // Host(`*.example.com`) is a literal in v3, not an error.
  CHECK(show(ok("Host(`*.example.com`)")) == "Host(*.example.com)");
}

TEST_CASE("rule: deep nesting is an error, not a crash", "[rule]") {
  std::string deep(5000, '(');
  CHECK(err(deep).find("nested too deeply") != std::string::npos);
  std::string nots(5000, '!');
  CHECK(err(nots + "Host(`a`)").find("nested too deeply") != std::string::npos);
}

TEST_CASE("rule: rule_host_names collects positive Host and HostSNI names", "[rule]") {
  using V = std::vector<std::string>;
  CHECK(rule_host_names(ok("Host(`A.com`) || Host(`b.com.`) && Path(`/`)")) == V{"a.com", "b.com"});
  CHECK(rule_host_names(ok("Host(`a.com`, `b.com`, `a.com`)")) == V{"a.com", "b.com"});
  CHECK(rule_host_names(ok("Host(`a.com`) && !Host(`b.com`)")) == V{"a.com"});
  CHECK(rule_host_names(ok("!(Host(`a.com`) || Host(`b.com`))")).empty());
  CHECK(rule_host_names(ok("PathPrefix(`/`)")).empty());
  CHECK(rule_host_names(ok("HostRegexp(`a\\.com`)")).empty());
  CHECK(rule_host_names(ok("Host(`a.com:8443`)")) == V{"a.com"});
  CHECK(rule_host_names(ok("HostSNI(`*`)", RuleKind::tcp)).empty());
  CHECK(rule_host_names(ok("HostSNI(`Db.Example.com`) || HostSNI(`*`)", RuleKind::tcp)) ==
        V{"db.example.com"});
}

TEST_CASE("rule: normalize_rule_host", "[rule]") {
  using portier::config::normalize_rule_host;
  CHECK(normalize_rule_host("Example.COM.") == "example.com");
  CHECK(normalize_rule_host("example.com:8080") == "example.com");
  CHECK(normalize_rule_host("[::1]:443") == "[::1]");
  CHECK(normalize_rule_host("::1") == "::1");
  CHECK(normalize_rule_host("a:b") == "a:b");
}

// Found by tests/fuzz/dynamic_yaml_fuzz: the error quoted only the first byte of a multi-byte
// character ("unexpected character `\xef`"), and /routes.json threw on the message.
TEST_CASE("a rule error quotes a whole multi-byte character", "[fuzz]") {
  auto r = portier::config::parse_rule("Host(`a`) \xe2\x82\xac", portier::config::RuleKind::http);
  REQUIRE_FALSE(r.root);
  CHECK(r.error.find("unexpected character `\xe2\x82\xac` at column") != std::string::npos);
  auto cut = portier::config::parse_rule("Host(`a`) \xe2\x82", portier::config::RuleKind::http);
  CHECK(cut.error.find("unexpected character `\xef\xbf\xbd") != std::string::npos);  // a cut character
  CHECK(portier::config::invalid_utf8_at(cut.error) == std::string_view::npos);
}
