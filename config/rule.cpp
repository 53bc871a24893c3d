#include "config/rule.hpp"

#include "config/http_token.hpp"
#include "config/yaml_tree.hpp"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace portier::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Matcher table

enum class ArgCheck {
  host,          // Host: ASCII
  host_sni,      // HostSNI: `*` or [[:alnum:].-:]+
  regexp,        // RE2 syntax
  path,          // starts with '/'
  method,        // HTTP token
  header,        // name token + value (may be empty)
  header_regexp, // name token + regex
  query,         // key [+ value (may be empty)]
  query_regexp,  // key + regex
  client_ip,     // IP or CIDR
  alpn,          // not acme-tls/1
  label,         // label name + value (may be empty)
  label_regexp,  // label name + regex
};

struct MatcherSpec {
  std::string_view name;
  bool http;
  bool tcp;
  bool constraint;
  int min_args;
  int max_args;
  bool multi_or;  // v2 leniency: N arguments mean an OR of N one-argument matchers
  ArgCheck check;
};

constexpr MatcherSpec kMatchers[] = {
    {"Host", true, false, false, 1, 1, true, ArgCheck::host},
    {"HostRegexp", true, false, false, 1, 1, false, ArgCheck::regexp},
    {"Path", true, false, false, 1, 1, true, ArgCheck::path},
    {"PathPrefix", true, false, false, 1, 1, true, ArgCheck::path},
    {"PathRegexp", true, false, false, 1, 1, false, ArgCheck::regexp},
    {"Method", true, false, false, 1, 1, true, ArgCheck::method},
    {"Header", true, false, false, 2, 2, false, ArgCheck::header},
    {"HeaderRegexp", true, false, false, 2, 2, false, ArgCheck::header_regexp},
    {"Query", true, false, false, 1, 2, false, ArgCheck::query},
    {"QueryRegexp", true, false, false, 2, 2, false, ArgCheck::query_regexp},
    {"ClientIP", true, true, false, 1, 1, true, ArgCheck::client_ip},
    {"HostSNI", false, true, false, 1, 1, true, ArgCheck::host_sni},
    {"HostSNIRegexp", false, true, false, 1, 1, false, ArgCheck::regexp},
    {"ALPN", false, true, false, 1, 1, false, ArgCheck::alpn},
    {"Label", false, false, true, 2, 2, false, ArgCheck::label},
    {"LabelRegex", false, false, true, 2, 2, false, ArgCheck::label_regexp},
};

bool allowed_in(const MatcherSpec& m, RuleKind kind) {
  switch (kind) {
    case RuleKind::http: return m.http;
    case RuleKind::tcp: return m.tcp;
    case RuleKind::constraint: return m.constraint;
  }
  return false;
}

std::string_view kind_name(RuleKind kind) {
  switch (kind) {
    case RuleKind::http: return "HTTP";
    case RuleKind::tcp: return "TCP";
    case RuleKind::constraint: return "constraint";
  }
  return "";
}

struct LegacyHint {
  std::string_view name;  // lowercase
  std::string_view hint;
};

constexpr LegacyHint kLegacy[] = {
    {"hostheader", "HostHeader is Traefik v1/v2 syntax; use Host"},
    {"headers", "Headers is Traefik v1/v2 syntax; use Header"},
    {"headersregexp", "HeadersRegexp is Traefik v1/v2 syntax; use HeaderRegexp"},
    {"pathprefixstrip",
     "PathPrefixStrip is Traefik v1 syntax; use PathPrefix with a stripPrefix middleware"},
    {"pathstrip", "PathStrip is Traefik v1 syntax; use Path with a stripPrefix middleware"},
    {"pathstripregex",
     "PathStripRegex is Traefik v1 syntax; use PathRegexp with a stripPrefixRegex middleware"},
    {"pathprefixstripregex", "PathPrefixStripRegex is Traefik v1 syntax; use PathRegexp with a "
                             "stripPrefixRegex middleware"},
    {"addprefix", "AddPrefix is Traefik v1 syntax; use the addPrefix middleware"},
    {"methods", "Methods is Traefik v1 syntax; use Method"},
};

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

const MatcherSpec* find_matcher(std::string_view name) {
  for (const auto& m : kMatchers)
    if (iequals(m.name, name)) return &m;
  return nullptr;
}

std::string matcher_list(RuleKind kind) {
  std::string out;
  for (const auto& m : kMatchers) {
    if (!allowed_in(m, kind)) continue;
    if (!out.empty()) out += ", ";
    out += m.name;
  }
  return out;
}

std::string unknown_matcher_message(std::string_view name, RuleKind kind, size_t col) {
  std::string where = " at column " + std::to_string(col);
  std::string lname = lower(name);
  for (const auto& l : kLegacy)
    if (l.name == lname) return std::string(l.hint) + where;
  if (const MatcherSpec* m = find_matcher(name)) {
    // Exists, but for another kind of expression.
    RuleKind own = m->http ? RuleKind::http : m->tcp ? RuleKind::tcp : RuleKind::constraint;
    return std::string(m->name) + " is a" + (own == RuleKind::http ? "n " : " ") +
           std::string(kind_name(own)) + " matcher, not allowed in a" +
           (kind == RuleKind::http ? "n " : " ") + std::string(kind_name(kind)) + " rule" + where;
  }
  return "unknown matcher `" + std::string(name) + "`" + where + " (" +
         std::string(kind_name(kind)) + " matchers: " + matcher_list(kind) + ")";
}

// ---------------------------------------------------------------------------------------------
// Argument checks

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Traefik v2 path/host templates: `{name:regexp}` or `{name}`.
bool looks_like_v2_template(std::string_view s) {
  size_t open = s.find('{');
  while (open != std::string_view::npos) {
    size_t i = open + 1;
    size_t start = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    if (i > start && i < s.size() && (s[i] == ':' || s[i] == '}') &&
        !std::isdigit(static_cast<unsigned char>(s[start])))
      return true;
    open = s.find('{', open + 1);
  }
  return false;
}

std::string check_regexp(std::string_view expr) {
  if (looks_like_v2_template(expr))
    return "`" + std::string(expr) +
           "` uses Traefik v2 `{name:regexp}` syntax; v3 takes a plain regular expression";
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re(re2::StringPiece(expr.data(), expr.size()), opts);
  if (!re.ok()) return "invalid regular expression `" + std::string(expr) + "`: " + re.error();
  return {};
}

bool parse_ip_or_cidr(std::string_view s) {
  std::string ip(s.substr(0, s.find('/')));
  unsigned char buf[16];
  int bits;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) bits = 32;
  else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) bits = 128;
  else return false;
  if (ip.size() == s.size()) return true;
  std::string_view len = s.substr(ip.size() + 1);
  if (len.empty() || len.size() > 3) return false;
  int n = 0;
  for (char c : len) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n <= bits && !(len.size() > 1 && len[0] == '0');
}

bool is_host_or_ip(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':';
  });
}

// Returns an error (without column) or "" when the arguments are acceptable.
std::string check_args(const MatcherSpec& m, const std::vector<std::string>& args) {
  const std::string& a0 = args[0];
  switch (m.check) {
    case ArgCheck::host:
      if (!is_ascii(a0)) return "Host `" + a0 + "` has non-ASCII characters (use punycode)";
      return {};
    case ArgCheck::host_sni:
      if (a0 == "*" || is_host_or_ip(a0)) return {};
      if (a0.find('*') != std::string::npos)
        return "HostSNI `" + a0 + "` is not a host name; wildcards need HostSNIRegexp";
      return "HostSNI `" + a0 + "` is not a valid host name";
    case ArgCheck::regexp:
      return check_regexp(a0);
    case ArgCheck::path:
      if (a0[0] != '/') return std::string(m.name) + " `" + a0 + "` does not start with `/`";
      if (looks_like_v2_template(a0))
        return std::string(m.name) + " `" + a0 +
               "` uses Traefik v2 `{name:regexp}` syntax; use PathRegexp";
      return {};
    case ArgCheck::method:
      if (!is_token(a0)) return "Method `" + a0 + "` is not an HTTP method name";
      return {};
    case ArgCheck::header:
    case ArgCheck::header_regexp:
      if (!is_token(a0)) return "`" + a0 + "` is not a valid header name";
      return m.check == ArgCheck::header_regexp ? check_regexp(args[1]) : std::string{};
    case ArgCheck::query:
      if (args.size() == 1 && a0.find('=') != std::string::npos)
        return "Query(`" + a0 + "`) is Traefik v2 syntax; v3 takes Query(`key`, `value`)";
      return {};
    case ArgCheck::query_regexp:
      return check_regexp(args[1]);
    case ArgCheck::client_ip:
      if (!parse_ip_or_cidr(a0)) return "ClientIP `" + a0 + "` is not an IP address or CIDR";
      return {};
    case ArgCheck::alpn:
      if (a0 == "acme-tls/1") return "ALPN `acme-tls/1` is reserved for ACME challenges";
      return {};
    case ArgCheck::label:
      return {};
    case ArgCheck::label_regexp:
      return check_regexp(args[1]);
  }
  return {};
}

// Arguments that may be empty: the value of Header, Query, Label and LabelRegex (an absent
// label reads as "", as in Traefik).
bool may_be_empty(const MatcherSpec& m, size_t index) {
  return index == 1 && (m.check == ArgCheck::header || m.check == ArgCheck::query ||
                        m.check == ArgCheck::label || m.check == ArgCheck::label_regexp);
}

// ---------------------------------------------------------------------------------------------
// Lexer

struct Token {
  enum Kind { end, ident, lparen, rparen, comma, and_, or_, not_, string, error };
  Kind kind = end;
  std::string text;  // ident name, unquoted string value, or error message
  size_t col = 0;    // 1-based byte column of the token start
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Token next() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r'))
      ++pos_;
    Token t;
    t.col = pos_ + 1;
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        ++pos_;
      t.kind = Token::ident;
      t.text = s_.substr(start, pos_ - start);
      return t;
    }
    switch (c) {
      case '(': ++pos_; t.kind = Token::lparen; return t;
      case ')': ++pos_; t.kind = Token::rparen; return t;
      case ',': ++pos_; t.kind = Token::comma; return t;
      case '!': ++pos_; t.kind = Token::not_; return t;
      case '&':
      case '|':
        if (pos_ + 1 < s_.size() && s_[pos_ + 1] == c) {
          pos_ += 2;
          t.kind = c == '&' ? Token::and_ : Token::or_;
          return t;
        }
        return fail(t, std::string("expected `") + c + c + "` at column " + std::to_string(t.col));
      case '`': return raw_string(t);
      case '"': return quoted_string(t);
      case '\'':
        return fail(t, "unexpected `'` at column " + std::to_string(t.col) +
                           "; quote arguments with backticks or double quotes");
      default: {
        // The whole character, not its first byte: the message reaches JSON (/routes.json,
        // the log), which needs UTF-8.
        unsigned char u = static_cast<unsigned char>(c);
        size_t len = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : u >= 0xC0 ? 2 : 1;
        std::string shown = valid_utf8(std::string_view(s_).substr(pos_, len));
        return fail(t, "unexpected character `" + shown + "` at column " + std::to_string(t.col));
      }
    }
  }

 private:
  Token fail(Token& t, std::string message) {
    t.kind = Token::error;
    t.text = std::move(message);
    pos_ = s_.size();
    return t;
  }

  Token unterminated(Token& t) {
    return fail(t, "missing closing quote for the argument at column " + std::to_string(t.col));
  }

  // Go raw string: no escapes; carriage returns are dropped.
  Token raw_string(Token& t) {
    size_t close = s_.find('`', pos_ + 1);
    if (close == std::string_view::npos) return unterminated(t);
    for (char c : s_.substr(pos_ + 1, close - pos_ - 1))
      if (c != '\r') t.text += c;
    pos_ = close + 1;
    t.kind = Token::string;
    return t;
  }

  // Go interpreted string literal, unquoted as strconv.Unquote does.
  Token quoted_string(Token& t) {
    size_t i = pos_ + 1;
    while (i < s_.size()) {
      char c = s_[i];
      if (c == '"') {
        pos_ = i + 1;
        t.kind = Token::string;
        return t;
      }
      if (c == '\n') return unterminated(t);
      if (c != '\\') {
        t.text += c;
        ++i;
        continue;
      }
      size_t esc_col = i + 1;
      if (++i >= s_.size()) return unterminated(t);
      std::string err = escape(i, t.text);
      if (!err.empty()) return fail(t, err + " at column " + std::to_string(esc_col));
    }
    return unterminated(t);
  }

  // Decodes the escape whose letter is at s_[i]; advances i past it.
  std::string escape(size_t& i, std::string& out) {
    char c = s_[i++];
    switch (c) {
      case 'a': out += '\a'; return {};
      case 'b': out += '\b'; return {};
      case 'f': out += '\f'; return {};
      case 'n': out += '\n'; return {};
      case 'r': out += '\r'; return {};
      case 't': out += '\t'; return {};
      case 'v': out += '\v'; return {};
      case '\\': out += '\\'; return {};
      case '"': out += '"'; return {};
      case 'x': case 'u': case 'U': {
        size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        if (i + n > s_.size()) return "invalid escape `\\" + std::string(1, c) + "`";
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          int h = hex_value(s_[i + k]);
          if (h < 0) return "invalid escape `\\" + std::string(1, c) + "`";
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (c == 'x') {
          out += static_cast<char>(v);
          return {};
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return "invalid Unicode escape";
        append_utf8(out, v);
        return {};
      }
      default:
        if (c >= '0' && c <= '7') {
          if (i + 2 > s_.size()) return "invalid octal escape";
          uint32_t v = static_cast<uint32_t>(c - '0');
          for (size_t k = 0; k < 2; ++k) {
            char d = s_[i + k];
            if (d < '0' || d > '7') return "invalid octal escape";
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) return "invalid octal escape";
          i += 2;
          out += static_cast<char>(v);
          return {};
        }
        return "invalid escape `\\" + std::string(1, c) + "`";
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Token::end: return "the end of the rule";
    case Token::ident: return "`" + t.text + "`";
    case Token::lparen: return "`(`";
    case Token::rparen: return "`)`";
    case Token::comma: return "`,`";
    case Token::and_: return "`&&`";
    case Token::or_: return "`||`";
    case Token::not_: return "`!`";
    case Token::string: return "a quoted argument";
    case Token::error: return "an error";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent; the first error wins and unwinds.

constexpr int kMaxDepth = 200;

class Parser {
 public:
  Parser(std::string_view text, RuleKind kind) : lex_(text), kind_(kind) { advance(); }

  ParsedRule run() {
    ParsedRule out;
    if (tok_.kind == Token::end) {
      out.error = "empty rule";
      return out;
    }
    RuleNode root = parse_or(0);
    if (error_.empty() && tok_.kind != Token::end) {
      if (tok_.kind == Token::rparen)
        set_error("unexpected `)` at column " + std::to_string(tok_.col) + " (no matching `(`)");
      else
        set_error("expected `&&` or `||` at column " + std::to_string(tok_.col) + ", found " +
                  describe(tok_));
    }
    if (!error_.empty()) {
      out.error = std::move(error_);
      return out;
    }
    out.root = std::move(root);
    return out;
  }

 private:
  void advance() {
    if (!error_.empty()) return;
    tok_ = lex_.next();
    if (tok_.kind == Token::error) set_error(tok_.text);
  }

  void set_error(std::string e) {
    if (error_.empty()) error_ = std::move(e);
    tok_.kind = Token::end;
  }

  bool failed() const { return !error_.empty(); }

  RuleNode combine(RuleNode::Op op, RuleNode first, Token::Kind sep, int depth) {
    if (tok_.kind != sep) return first;
    RuleNode node;
    node.op = op;
    node.children.push_back(std::move(first));
    while (!failed() && tok_.kind == sep) {
      advance();
      node.children.push_back(op == RuleNode::Op::or_ ? parse_and(depth) : parse_unary(depth));
    }
    return node;
  }

  RuleNode parse_or(int depth) {
    RuleNode first = parse_and(depth);
    return combine(RuleNode::Op::or_, std::move(first), Token::or_, depth);
  }

  RuleNode parse_and(int depth) {
    RuleNode first = parse_unary(depth);
    return combine(RuleNode::Op::and_, std::move(first), Token::and_, depth);
  }

  RuleNode parse_unary(int depth) {
    if (failed()) return {};
    if (depth > kMaxDepth) {
      set_error("rule nested too deeply at column " + std::to_string(tok_.col));
      return {};
    }
    if (tok_.kind == Token::not_) {
      advance();
      RuleNode node;
      node.op = RuleNode::Op::not_;
      node.children.push_back(parse_unary(depth + 1));
      return node;
    }
    if (tok_.kind == Token::lparen) {
      size_t open_col = tok_.col;
      advance();
      RuleNode inner = parse_or(depth + 1);
      if (failed()) return {};
      if (tok_.kind != Token::rparen) {
        set_error("expected `)` at column " + std::to_string(tok_.col) + " to close `(` at column " +
                  std::to_string(open_col) + ", found " + describe(tok_));
        return {};
      }
      advance();
      return inner;
    }
    if (tok_.kind == Token::ident) return parse_matcher();
    set_error("expected a matcher, `!` or `(` at column " + std::to_string(tok_.col) + ", found " +
              describe(tok_));
    return {};
  }

  RuleNode parse_matcher() {
    Token name = tok_;
    const MatcherSpec* spec = find_matcher(name.text);
    if (!spec || !allowed_in(*spec, kind_)) {
      set_error(unknown_matcher_message(name.text, kind_, name.col));
      return {};
    }
    advance();
    if (tok_.kind != Token::lparen) {
      set_error("expected `(` after " + std::string(spec->name) + " at column " +
                std::to_string(tok_.col) + ", found " + describe(tok_));
      return {};
    }
    advance();
    std::vector<std::string> args;
    std::vector<size_t> cols;
    if (!parse_args(args, cols)) return {};
    return build_matcher(*spec, name.col, std::move(args), cols);
  }

  bool parse_args(std::vector<std::string>& args, std::vector<size_t>& cols) {
    if (tok_.kind == Token::rparen) {
      advance();
      return !failed();
    }
    for (;;) {
      if (tok_.kind != Token::string) {
        set_error("expected a quoted argument at column " + std::to_string(tok_.col) + ", found " +
                  describe(tok_));
        return false;
      }
      args.push_back(std::move(tok_.text));
      cols.push_back(tok_.col);
      advance();
      if (tok_.kind == Token::comma) {
        advance();
        if (tok_.kind != Token::rparen) continue;  // Go accepts a trailing comma: f(a,)
      }
      if (tok_.kind == Token::rparen) {
        advance();
        return !failed();
      }
      set_error("expected `)` after argument at column " + std::to_string(tok_.col) + ", found " +
                describe(tok_));
      return false;
    }
  }

  RuleNode build_matcher(const MatcherSpec& spec, size_t col, std::vector<std::string> args,
                         const std::vector<size_t>& cols) {
    int n = static_cast<int>(args.size());
    bool split = spec.multi_or && n > 1;
    if (!split && (n < spec.min_args || n > spec.max_args)) {
      std::string want = spec.min_args == spec.max_args
                             ? std::to_string(spec.min_args)
                             : std::to_string(spec.min_args) + " or " + std::to_string(spec.max_args);
      set_error(std::string(spec.name) + " takes " + want + " argument" +
                (spec.max_args > 1 ? "s" : "") + ", got " + std::to_string(n) + " at column " +
                std::to_string(col));
      return {};
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].empty() && !(may_be_empty(spec, i) && !split)) {
        set_error(std::string(spec.name) + " has an empty argument at column " +
                  std::to_string(cols[i]));
        return {};
      }
    }
    if (!split) {
      std::string err = check_args(spec, args);
      if (!err.empty()) {
        set_error(err + " at column " + std::to_string(cols[0]));
        return {};
      }
      RuleNode node;
      node.name = spec.name;
      node.args = std::move(args);
      return node;
    }
    RuleNode node;
    node.op = RuleNode::Op::or_;
    for (size_t i = 0; i < args.size(); ++i) {
      std::vector<std::string> one{std::move(args[i])};
      std::string err = check_args(spec, one);
      if (!err.empty()) {
        set_error(err + " at column " + std::to_string(cols[i]));
        return {};
      }
      RuleNode child;
      child.name = spec.name;
      child.args = std::move(one);
      node.children.push_back(std::move(child));
    }
    return node;
  }

  Lexer lex_;
  RuleKind kind_;
  Token tok_;
  std::string error_;
};

void collect_hosts(const RuleNode& n, std::vector<std::string>& out) {
  switch (n.op) {
    case RuleNode::Op::not_:
      return;
    case RuleNode::Op::and_:
    case RuleNode::Op::or_:
      for (const auto& c : n.children) collect_hosts(c, out);
      return;
    case RuleNode::Op::matcher:
      if ((n.name == "Host" || n.name == "HostSNI") && n.args.size() == 1 && n.args[0] != "*") {
        std::string h = normalize_rule_host(n.args[0]);
        if (!h.empty() && std::find(out.begin(), out.end(), h) == out.end())
          out.push_back(std::move(h));
      }
      return;
  }
}

}  // namespace

ParsedRule parse_rule(std::string_view text, RuleKind kind) { return Parser(text, kind).run(); }

std::vector<std::string> rule_host_names(const RuleNode& root) {
  std::vector<std::string> out;
  collect_hosts(root, out);
  return out;
}

std::string normalize_rule_host(std::string_view host) {
  std::string h = lower(host);
  if (!h.empty() && h[0] == '[') {
    size_t close = h.find(']');
    if (close != std::string::npos) h.resize(close + 1);
  } else if (std::count(h.begin(), h.end(), ':') == 1) {
    size_t colon = h.find(':');
    bool digits = colon + 1 < h.size() &&
                  std::all_of(h.begin() + static_cast<long>(colon) + 1, h.end(),
                              [](char c) { return c >= '0' && c <= '9'; });
    if (digits) h.resize(colon);
  }
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

}  // namespace portier::config
