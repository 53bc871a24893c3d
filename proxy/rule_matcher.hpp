#pragma once
// Compiled Traefik v3 rules, evaluated on the data plane.
//
// A rule AST (config/rule.hpp) compiles into a flat branch program: one test per matcher, each
// with the index of the next test on success and on failure (or a final verdict). `!`, `&&`
// and `||` become jump targets, so evaluation is a loop over an array: no recursion, no
// allocation, no std::regex (RE2, compiled once).
//
// Thread-safety: a compiled matcher is immutable; copies share the program by pointer and may be
// evaluated concurrently from any number of threads.
#include <boost/asio/ip/address.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/rule.hpp"
#include "proxy/http1_parser.hpp"

namespace portier::proxy {

namespace detail {
struct RuleProgram;
}

using Header = HeaderField;  // the parser's header view, matched without copying

// One HTTP request as the router sees it. All views must outlive the match() call.
struct RequestView {
  std::string_view method;          // "GET"
  std::string_view host;            // already lowercased, without port and trailing dot
  std::string_view path;            // raw path, no query
  std::string_view query;           // raw query without '?', may be empty
  std::span<const Header> headers;  // as received, names in any case; a name may repeat
  boost::asio::ip::address client_ip;
};

// Semantics follow Traefik v3: Host is an exact comparison with the normalised rule host (no
// wildcards); Path/PathPrefix/PathRegexp see the percent-decoded path (Go's URL.Path);
// *Regexp matchers are unanchored (Go MatchString); Method is case-sensitive, the rule's name is
// uppercased; Header compares whole values, names case-insensitively; Query sees the
// query-unescaped pairs split on `&` (pairs with `;` or bad escapes ignored, as Go does);
// ClientIP compares client_ip (IPv4-mapped IPv6 counts as IPv4).
class HttpMatcher {
 public:
  bool match(const RequestView& request) const;

 private:
  friend std::optional<HttpMatcher> compile_http_rule(const config::RuleNode&, std::string*);
  std::shared_ptr<const detail::RuleProgram> program_;
};

// Compiles an HTTP rule. On failure returns nullopt and, when `error` is set, a one-line reason
// (an AST from parse_rule only fails here if it was built by hand).
std::optional<HttpMatcher> compile_http_rule(const config::RuleNode& root, std::string* error);

// If the rule is only Host(...) or an `||` of Host() matchers: their normalised names
// (config::normalize_rule_host), so the router can index them in a hash map and skip
// evaluation. nullopt otherwise.
std::optional<std::vector<std::string>> host_only_names(const config::RuleNode& root);

// One TCP connection after the ClientHello peek.
struct ConnView {
  std::string_view sni;  // lowercase, "" when none or not TLS
  std::span<const std::string> alpn;  // protocols offered in the ClientHello
  boost::asio::ip::address client_ip;
  bool is_tls = false;
};

// HostSNI(`*`) matches every connection, TLS or not; HostSNI(`name`) needs TLS with that SNI;
// HostSNIRegexp is unanchored over the SNI; ALPN(`p`) matches when any offered protocol equals p.
class TcpMatcher {
 public:
  bool match(const ConnView& conn) const;
  // The rule is exactly HostSNI(`*`): the connection can be routed without reading a byte.
  bool catch_all() const;

 private:
  friend std::optional<TcpMatcher> compile_tcp_rule(const config::RuleNode&, std::string*);
  std::shared_ptr<const detail::RuleProgram> program_;
};

std::optional<TcpMatcher> compile_tcp_rule(const config::RuleNode& root, std::string* error);

}  // namespace portier::proxy
