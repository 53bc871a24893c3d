#include "discovery/rule_template.hpp"

#include <cctype>
#include <vector>

namespace portier::discovery {
namespace {

struct Value {
  std::string text;
  const std::map<std::string, std::string>* map = nullptr;
};

// Recursive-descent evaluator over the text of one action ({{ … }}).
class Action {
 public:
  Action(std::string_view text, const RuleTemplateData& data) : s_(text), data_(data) {}

  std::string run(std::string& out) {
    Value v;
    if (auto e = pipeline(v); !e.empty()) return e;
    skip_ws();
    if (pos_ != s_.size()) return "unexpected \"" + std::string(s_.substr(pos_)) + "\"";
    if (v.map) return "cannot print a map";
    out += v.text;
    return {};
  }

 private:
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool at_end_of_command() {
    skip_ws();
    return pos_ == s_.size() || s_[pos_] == '|' || s_[pos_] == ')';
  }

  std::string pipeline(Value& v) {
    bool first = true;
    do {
      if (!first) ++pos_;  // '|'
      std::vector<Value> piped;
      if (!first) piped.push_back(v);
      if (auto e = command(v, piped); !e.empty()) return e;
      first = false;
      skip_ws();
    } while (pos_ < s_.size() && s_[pos_] == '|');
    return {};
  }

  std::string command(Value& v, std::vector<Value>& piped) {
    skip_ws();
    std::string ident;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ident += s_[pos_++];
    std::vector<Value> args;
    if (ident.empty()) {
      Value a;
      if (auto e = operand(a); !e.empty()) return e;
      if (!piped.empty() || !at_end_of_command()) return "can't give argument to non-function";
      v = a;
      return {};
    }
    while (!at_end_of_command()) {
      Value a;
      if (auto e = operand(a); !e.empty()) return e;
      args.push_back(std::move(a));
    }
    for (auto& p : piped) args.push_back(p);
    return call(ident, args, v);
  }

  std::string operand(Value& v) {
    skip_ws();
    if (pos_ >= s_.size()) return "missing value";
    char c = s_[pos_];
    if (c == '"' || c == '`') return literal(v);
    if (c == '(') {
      ++pos_;
      if (auto e = pipeline(v); !e.empty()) return e;
      if (pos_ >= s_.size() || s_[pos_] != ')') return "unclosed left paren";
      ++pos_;
      return {};
    }
    if (c == '.') {
      ++pos_;
      std::string field;
      while (pos_ < s_.size() && std::isalnum(static_cast<unsigned char>(s_[pos_]))) field += s_[pos_++];
      if (field == "Name") v = {data_.name};
      else if (field == "ContainerName") v = {data_.container_name};
      else if (field == "Labels") v = {{}, data_.labels ? data_.labels : &empty_};
      else return "unknown field ." + field;
      return {};
    }
    return "unexpected \"" + std::string(1, c) + "\"";
  }

  std::string literal(Value& v) {
    char quote = s_[pos_++];
    std::string text;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (quote == '"' && s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      text += s_[pos_++];
    }
    if (pos_ >= s_.size()) return "unterminated string";
    ++pos_;
    v = {text};
    return {};
  }

  static std::string call(const std::string& fn, std::vector<Value>& a, Value& v) {
    auto want = [&](std::size_t n) {
      return a.size() == n ? std::string() : fn + ": wants " + std::to_string(n) + " arguments";
    };
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].map && !(fn == "index" && i == 0)) return fn + ": argument is a map";
    if (fn == "normalize" || fn == "lower" || fn == "upper") {
      if (auto e = want(1); !e.empty()) return e;
      std::string t = a[0].text;
      if (fn == "normalize") t = normalize_name(t);
      for (char& c : t) {
        if (fn == "lower") c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (fn == "upper") c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      v = {t};
      return {};
    }
    if (fn == "index") {
      if (auto e = want(2); !e.empty()) return e;
      if (!a[0].map) return "index of a non-map";
      auto it = a[0].map->find(a[1].text);
      v = {it == a[0].map->end() ? std::string() : it->second};
      return {};
    }
    if (fn == "trimPrefix" || fn == "trimSuffix") {
      if (auto e = want(2); !e.empty()) return e;
      std::string t = a[1].text;
      const std::string& x = a[0].text;
      if (fn == "trimPrefix" && t.rfind(x, 0) == 0) t.erase(0, x.size());
      if (fn == "trimSuffix" && t.size() >= x.size() && t.compare(t.size() - x.size(), x.size(), x) == 0)
        t.erase(t.size() - x.size());
      v = {t};
      return {};
    }
    if (fn == "replace") {
      if (auto e = want(3); !e.empty()) return e;
      std::string t = a[2].text, out;
      const std::string &from = a[0].text, &to = a[1].text;
      if (from.empty()) return "replace: empty pattern";
      for (std::size_t i = 0; i < t.size();) {
        if (t.compare(i, from.size(), from) == 0) out += to, i += from.size();
        else out += t[i++];
      }
      v = {out};
      return {};
    }
    return "function \"" + fn + "\" not defined";
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  const RuleTemplateData& data_;
  static inline const std::map<std::string, std::string> empty_{};
};

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string out;
  bool pending_dash = false;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c >= 0x80) {
      if (pending_dash && !out.empty()) out += '-';
      pending_dash = false;
      out += static_cast<char>(c);
    } else {
      pending_dash = true;
    }
  }
  return out;
}

std::string render_rule_template(std::string_view tpl, const RuleTemplateData& data, std::string& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos < tpl.size()) {
    std::size_t open = tpl.find("{{", pos);
    if (open == std::string_view::npos) {
      out += tpl.substr(pos);
      break;
    }
    std::string_view text = tpl.substr(pos, open - pos);
    std::size_t close = tpl.find("}}", open + 2);
    if (close == std::string_view::npos) return "unclosed action";
    std::string_view inner = tpl.substr(open + 2, close - open - 2);
    bool trim_left = inner.size() >= 2 && inner[0] == '-' && std::isspace(static_cast<unsigned char>(inner[1]));
    bool trim_right = inner.size() >= 2 && inner.back() == '-' &&
                      std::isspace(static_cast<unsigned char>(inner[inner.size() - 2]));
    if (trim_left) {
      inner.remove_prefix(1);
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    }
    if (trim_right) inner.remove_suffix(1);
    out += text;
    if (auto e = Action(inner, data).run(out); !e.empty()) return "template: " + e;
    pos = close + 2;
    if (trim_right)
      while (pos < tpl.size() && std::isspace(static_cast<unsigned char>(tpl[pos]))) ++pos;
  }
  return {};
}

}  // namespace portier::discovery
