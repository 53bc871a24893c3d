#include "proxy/rule_matcher.hpp"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace portier::proxy {

using config::RuleNode;

namespace {

enum class TestKind : uint8_t {
  host, host_regexp, path, path_prefix, path_regexp, method, header, header_regexp,
  query_key, query, query_regexp, client_ip,
  host_sni_any, host_sni, host_sni_regexp, alpn,
};

constexpr int32_t kTrue = -1;
constexpr int32_t kFalse = -2;

struct IpNet {
  std::array<uint8_t, 16> bytes{};
  uint8_t prefix = 0;
  bool v4 = false;
};

}  // namespace

namespace detail {

struct Test {
  TestKind kind;
  int32_t on_true = kFalse;
  int32_t on_false = kFalse;
  std::string a;  // normalised first argument (host, path, method, lowercase header name, key)
  std::string b;  // second argument (header or query value)
  std::unique_ptr<RE2> re;
  IpNet net;
};

// Tests only jump to lower indices, so evaluation always terminates.
struct RuleProgram {
  std::vector<Test> tests;
  int32_t entry = kFalse;
  bool catch_all = false;
};

}  // namespace detail

namespace {

using detail::RuleProgram;
using detail::Test;

// ---------------------------------------------------------------------------------------------
// Byte helpers (allocation-free)

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals_lower(std::string_view any, std::string_view lower) {
  if (any.size() != lower.size()) return false;
  for (size_t i = 0; i < any.size(); ++i)
    if (ascii_lower(any[i]) != lower[i]) return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads percent-encoded text one decoded byte at a time. Path mode keeps a '%' that does not
// start a valid escape; query mode turns '+' into ' ' and flags a bad escape as invalid.
class Decoder {
 public:
  Decoder(std::string_view raw, bool query) : raw_(raw), query_(query) {}
  bool done() const { return pos_ >= raw_.size(); }
  bool invalid() const { return invalid_; }
  char next() {
    char c = raw_[pos_++];
    if (c == '+' && query_) return ' ';
    if (c != '%') return c;
    int hi = pos_ + 2 <= raw_.size() ? hex_value(raw_[pos_]) : -1;
    int lo = pos_ + 2 <= raw_.size() ? hex_value(raw_[pos_ + 1]) : -1;
    if (hi < 0 || lo < 0) {
      if (query_) invalid_ = true;
      return '%';
    }
    pos_ += 2;
    return static_cast<char>(hi * 16 + lo);
  }

 private:
  std::string_view raw_;
  size_t pos_ = 0;
  bool query_;
  bool invalid_ = false;
};

enum class Cmp { equal, prefix, differ, invalid };

// Compares decode(raw) with `literal`. `prefix`: the literal is a proper prefix of the decoded
// text. `equal` also guarantees that every escape was valid (query mode); a text that differs
// may still hold a bad escape, which does not matter to callers (no match either way).
Cmp decoded_compare(std::string_view raw, std::string_view literal, bool query) {
  Decoder d(raw, query);
  size_t i = 0;
  while (!d.done()) {
    char c = d.next();
    if (d.invalid()) return Cmp::invalid;
    if (i == literal.size()) return Cmp::prefix;
    if (c != literal[i++]) return Cmp::differ;
  }
  return i == literal.size() ? Cmp::equal : Cmp::differ;
}

bool valid_query_escapes(std::string_view raw) {
  Decoder d(raw, true);
  while (!d.done()) {
    d.next();
    if (d.invalid()) return false;
  }
  return true;
}

// Returns decode(raw), using a per-thread buffer when decoding changes anything. The view is
// valid until the next call on this thread. Amortised allocation-free.
std::string_view decoded(std::string_view raw, bool query) {
  if (raw.find('%') == std::string_view::npos &&
      (!query || raw.find('+') == std::string_view::npos))
    return raw;
  thread_local std::string buffer;
  buffer.clear();
  Decoder d(raw, query);
  while (!d.done()) buffer += d.next();
  return buffer;
}

bool regex_match(const RE2& re, std::string_view text) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

// ---------------------------------------------------------------------------------------------
// Query: Go's url.ParseQuery, pair by pair without building a map.

struct QueryPair {
  std::string_view key, value;
};

// Calls f(pair) for each pair Go would keep; stops early when f returns true.
template <class F>
bool any_query_pair(std::string_view query, F&& f) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    size_t eq = pair.find('=');
    QueryPair p{pair.substr(0, eq),
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)};
    if (f(p)) return true;
  }
  return false;
}

bool key_is(const QueryPair& p, std::string_view key) {
  return decoded_compare(p.key, key, true) == Cmp::equal;
}

bool match_query(const Test& t, std::string_view query) {
  return any_query_pair(query, [&](const QueryPair& p) {
    if (!key_is(p, t.a)) return false;
    switch (t.kind) {
      case TestKind::query_key: return valid_query_escapes(p.value);
      case TestKind::query: return decoded_compare(p.value, t.b, true) == Cmp::equal;
      default:
        return valid_query_escapes(p.value) && regex_match(*t.re, decoded(p.value, true));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// IP networks

bool parse_net(std::string_view text, IpNet& net) {
  size_t slash = text.find('/');
  std::string ip(text.substr(0, slash));
  if (inet_pton(AF_INET, ip.c_str(), net.bytes.data()) == 1) {
    net.v4 = true;
  } else if (inet_pton(AF_INET6, ip.c_str(), net.bytes.data()) != 1) {
    return false;
  }
  int max = net.v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3) return false;
    prefix = 0;
    for (char c : len) {
      if (c < '0' || c > '9') return false;
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) return false;
  }
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!net.v4 && prefix >= 96 && std::memcmp(net.bytes.data(), kMapped, 12) == 0) {
    std::memmove(net.bytes.data(), net.bytes.data() + 12, 4);
    net.v4 = true;
    prefix -= 96;
  }
  net.prefix = static_cast<uint8_t>(prefix);
  return true;
}

bool prefix_equal(const uint8_t* a, const uint8_t* b, int bits) {
  int bytes = bits / 8;
  if (std::memcmp(a, b, static_cast<size_t>(bytes)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

bool net_contains(const IpNet& net, const boost::asio::ip::address& addr) {
  if (addr.is_v4()) {
    if (!net.v4) return false;
    auto b = addr.to_v4().to_bytes();
    return prefix_equal(b.data(), net.bytes.data(), net.prefix);
  }
  auto v6 = addr.to_v6();
  auto b = v6.to_bytes();
  if (v6.is_v4_mapped()) {
    if (!net.v4) return false;
    return prefix_equal(b.data() + 12, net.bytes.data(), net.prefix);
  }
  return !net.v4 && prefix_equal(b.data(), net.bytes.data(), net.prefix);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

bool test_http(const Test& t, const RequestView& r) {
  switch (t.kind) {
    case TestKind::host: return r.host == t.a;
    case TestKind::host_regexp: return regex_match(*t.re, r.host);
    case TestKind::path: return decoded_compare(r.path, t.a, false) == Cmp::equal;
    case TestKind::path_prefix: {
      Cmp c = decoded_compare(r.path, t.a, false);
      return c == Cmp::equal || c == Cmp::prefix;
    }
    case TestKind::path_regexp: return regex_match(*t.re, decoded(r.path, false));
    case TestKind::method: return r.method == t.a;
    case TestKind::header:
      for (const Header& h : r.headers)
        if (iequals_lower(h.name, t.a) && h.value == t.b) return true;
      return false;
    case TestKind::header_regexp:
      for (const Header& h : r.headers)
        if (iequals_lower(h.name, t.a) && regex_match(*t.re, h.value)) return true;
      return false;
    case TestKind::query_key:
    case TestKind::query:
    case TestKind::query_regexp: return match_query(t, r.query);
    case TestKind::client_ip: return net_contains(t.net, r.client_ip);
    default: return false;
  }
}

bool test_tcp(const Test& t, const ConnView& c) {
  switch (t.kind) {
    case TestKind::host_sni_any: return true;
    case TestKind::host_sni: {
      if (!c.is_tls || c.sni.empty()) return false;
      std::string_view sni = c.sni;
      if (sni.back() == '.') sni.remove_suffix(1);
      return sni == t.a;
    }
    case TestKind::host_sni_regexp: return regex_match(*t.re, c.sni);
    case TestKind::alpn:
      for (const std::string& p : c.alpn)
        if (p == t.a) return true;
      return false;
    case TestKind::client_ip: return net_contains(t.net, c.client_ip);
    default: return false;
  }
}

template <class View, class TestFn>
bool run(const RuleProgram* program, const View& view, TestFn test) {
  if (!program) return false;
  int32_t pc = program->entry;
  while (pc >= 0) {
    const Test& t = program->tests[static_cast<size_t>(pc)];
    pc = test(t, view) ? t.on_true : t.on_false;
  }
  return pc == kTrue;
}

// ---------------------------------------------------------------------------------------------
// Compilation

struct LeafSpec {
  std::string_view name;
  TestKind kind;
  bool http;
  bool tcp;
};

constexpr LeafSpec kLeaves[] = {
    {"Host", TestKind::host, true, false},
    {"HostRegexp", TestKind::host_regexp, true, false},
    {"Path", TestKind::path, true, false},
    {"PathPrefix", TestKind::path_prefix, true, false},
    {"PathRegexp", TestKind::path_regexp, true, false},
    {"Method", TestKind::method, true, false},
    {"Header", TestKind::header, true, false},
    {"HeaderRegexp", TestKind::header_regexp, true, false},
    {"Query", TestKind::query, true, false},
    {"QueryRegexp", TestKind::query_regexp, true, false},
    {"ClientIP", TestKind::client_ip, true, true},
    {"HostSNI", TestKind::host_sni, false, true},
    {"HostSNIRegexp", TestKind::host_sni_regexp, false, true},
    {"ALPN", TestKind::alpn, false, true},
};

size_t wanted_args(TestKind k) {
  switch (k) {
    case TestKind::header:
    case TestKind::header_regexp:
    case TestKind::query:
    case TestKind::query_regexp: return 2;
    default: return 1;
  }
}

class Compiler {
 public:
  explicit Compiler(bool http) : http_(http) {}

  std::shared_ptr<RuleProgram> run(const RuleNode& root, std::string* error) {
    auto program = std::make_shared<RuleProgram>();
    program_ = program.get();
    program->entry = compile(root, kTrue, kFalse);
    if (!error_.empty()) {
      if (error) *error = std::move(error_);
      return nullptr;
    }
    program->catch_all = root.op == RuleNode::Op::matcher && root.name == "HostSNI" &&
                         root.args.size() == 1 && root.args[0] == "*";
    return program;
  }

 private:
  int32_t fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return kFalse;
  }

  int32_t compile(const RuleNode& n, int32_t on_true, int32_t on_false) {
    if (!error_.empty()) return kFalse;
    switch (n.op) {
      case RuleNode::Op::matcher: return leaf(n, on_true, on_false);
      case RuleNode::Op::not_:
        if (n.children.size() != 1) return fail("`!` needs exactly one operand");
        return compile(n.children[0], on_false, on_true);
      case RuleNode::Op::and_:
      case RuleNode::Op::or_: {
        if (n.children.empty()) return fail("`&&`/`||` without operands");
        bool is_and = n.op == RuleNode::Op::and_;
        int32_t entry = compile(n.children.back(), on_true, on_false);
        for (size_t i = n.children.size() - 1; i-- > 0;)
          entry = is_and ? compile(n.children[i], entry, on_false)
                         : compile(n.children[i], on_true, entry);
        return entry;
      }
    }
    return fail("invalid rule node");
  }

  int32_t leaf(const RuleNode& n, int32_t on_true, int32_t on_false) {
    const LeafSpec* spec = nullptr;
    for (const auto& l : kLeaves)
      if (l.name == n.name && (http_ ? l.http : l.tcp)) spec = &l;
    if (!spec)
      return fail("`" + n.name + "` is not " + (http_ ? "an HTTP" : "a TCP") + " matcher");
    Test t;
    t.kind = spec->kind;
    t.on_true = on_true;
    t.on_false = on_false;
    if (!fill(t, n)) return kFalse;
    program_->tests.push_back(std::move(t));
    return static_cast<int32_t>(program_->tests.size() - 1);
  }

  bool compile_regex(Test& t, const std::string& expr, const std::string& matcher) {
    RE2::Options opts;
    opts.set_log_errors(false);
    t.re = std::make_unique<RE2>(expr, opts);
    if (t.re->ok()) return true;
    fail(matcher + ": invalid regular expression `" + expr + "`: " + t.re->error());
    return false;
  }

  bool fill(Test& t, const RuleNode& n) {
    bool query_key = t.kind == TestKind::query && n.args.size() == 1;
    if (n.args.size() != wanted_args(t.kind) && !query_key) {
      fail(n.name + " takes " + std::to_string(wanted_args(t.kind)) + " argument(s), got " +
           std::to_string(n.args.size()));
      return false;
    }
    const std::string& a0 = n.args[0];
    switch (t.kind) {
      case TestKind::host: t.a = config::normalize_rule_host(a0); return true;
      case TestKind::host_sni:
        if (a0 == "*") {
          t.kind = TestKind::host_sni_any;
          return true;
        }
        t.a = config::normalize_rule_host(a0);
        return true;
      case TestKind::method:
        t.a = a0;
        for (char& c : t.a)
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        return true;
      case TestKind::header:
      case TestKind::header_regexp:
        for (char c : a0) t.a += ascii_lower(c);
        if (t.kind == TestKind::header_regexp) return compile_regex(t, n.args[1], n.name);
        t.b = n.args[1];
        return true;
      case TestKind::query:
        t.a = a0;
        if (query_key) t.kind = TestKind::query_key;
        else t.b = n.args[1];
        return true;
      case TestKind::query_regexp:
        t.a = a0;
        return compile_regex(t, n.args[1], n.name);
      case TestKind::host_regexp:
      case TestKind::path_regexp:
      case TestKind::host_sni_regexp: return compile_regex(t, a0, n.name);
      case TestKind::client_ip:
        if (parse_net(a0, t.net)) return true;
        fail("ClientIP: `" + a0 + "` is not an IP address or CIDR");
        return false;
      default: t.a = a0; return true;  // path, path_prefix, alpn
    }
  }

  bool http_;
  RuleProgram* program_ = nullptr;
  std::string error_;
};

bool collect_host_only(const RuleNode& n, std::vector<std::string>& out) {
  if (n.op == RuleNode::Op::matcher) {
    if (n.name != "Host" || n.args.size() != 1) return false;
    out.push_back(config::normalize_rule_host(n.args[0]));
    return true;
  }
  if (n.op != RuleNode::Op::or_ || n.children.empty()) return false;
  for (const auto& c : n.children)
    if (!collect_host_only(c, out)) return false;
  return true;
}

}  // namespace

bool HttpMatcher::match(const RequestView& request) const {
  return run(program_.get(), request, test_http);
}

std::optional<HttpMatcher> compile_http_rule(const config::RuleNode& root, std::string* error) {
  auto program = Compiler(true).run(root, error);
  if (!program) return std::nullopt;
  HttpMatcher m;
  m.program_ = std::move(program);
  return m;
}

std::optional<std::vector<std::string>> host_only_names(const config::RuleNode& root) {
  std::vector<std::string> names;
  if (!collect_host_only(root, names)) return std::nullopt;
  return names;
}

bool TcpMatcher::match(const ConnView& conn) const {
  return run(program_.get(), conn, test_tcp);
}

bool TcpMatcher::catch_all() const { return program_ && program_->catch_all; }

std::optional<TcpMatcher> compile_tcp_rule(const config::RuleNode& root, std::string* error) {
  auto program = Compiler(false).run(root, error);
  if (!program) return std::nullopt;
  TcpMatcher m;
  m.program_ = std::move(program);
  return m;
}

}  // namespace portier::proxy
