#include "config/yaml_tree.hpp"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace portier::config {
namespace {

using Kind = YamlNode::Kind;

// yaml-cpp's null scalars (plain only; quoted "null" is a string).
bool is_null_text(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Thrown when the text leaves the subset the scanner handles; yaml-cpp then loads it.
struct Decline {};

// Builds children in order: appends after the last one.
struct Appender {
  YamlNode* parent;
  YamlNode* tail = nullptr;
  void add(YamlNode* n) {
    (tail ? tail->next : parent->first) = n;
    tail = n;
  }
};

// The fast path: a recursive-descent scanner for block-style YAML (see yaml_tree.hpp). It
// throws Decline rather than guess whenever the input is outside that subset or invalid.
class Scanner {
 public:
  Scanner(std::string_view text, YamlTree& tree) : t_(text), tree_(tree) {}

  YamlNode* document() {
    for (char ch : t_) {
      const auto u = static_cast<unsigned char>(ch);
      if ((u < 0x20 && ch != '\n') || u >= 0x7f) throw Decline{};
    }
    skip_blank();
    // yaml-cpp returns a node without a mark (line -1) for a document with no content at all.
    int empty_line = -1;
    if (!eof() && col() == 0 && t_.substr(pos_, 3) == "---" && boundary(pos_ + 3)) {
      pos_ += 3;
      skip_spaces();
      if (!eol_or_comment()) throw Decline{};
      skip_blank();
      empty_line = line_;
    }
    if (eof()) return tree_.add(Kind::null, empty_line);
    YamlNode* root = block_node(-1);
    skip_blank();
    if (!eof()) throw Decline{};
    return root;
  }

 private:
  bool eof() const { return pos_ >= t_.size(); }
  char cur() const { return eof() ? '\0' : t_[pos_]; }
  int col() const { return static_cast<int>(pos_ - line_start_); }
  // True when position i ends a token: space, newline or end of text.
  bool boundary(size_t i) const { return i >= t_.size() || t_[i] == ' ' || t_[i] == '\n'; }
  bool is_seq_entry() const { return cur() == '-' && boundary(pos_ + 1); }

  void skip_spaces() {
    while (!eof() && t_[pos_] == ' ') ++pos_;
  }
  // At the end of a line's content: newline, end of text, or a comment after a space.
  bool eol_or_comment() const {
    if (eof() || t_[pos_] == '\n') return true;
    return t_[pos_] == '#' && pos_ > 0 && (t_[pos_ - 1] == ' ' || t_[pos_ - 1] == '\n');
  }
  // Skips spaces, comments and line breaks up to the next content (or the end).
  void skip_blank() {
    for (;;) {
      skip_spaces();
      if (eof()) return;
      if (t_[pos_] == '#') {
        if (pos_ > 0 && t_[pos_ - 1] != ' ' && t_[pos_ - 1] != '\n') return;
        while (!eof() && t_[pos_] != '\n') ++pos_;
      }
      if (eof()) return;
      if (t_[pos_] != '\n') return;
      ++pos_;
      ++line_;
      line_start_ = pos_;
    }
  }

  // Characters that cannot start a plain scalar (quotes and flow openers are handled apart).
  bool plain_start() const {
    const char c = cur();
    if (c == '-' || c == '?' || c == ':') return !boundary(pos_ + 1);
    static constexpr std::string_view kIndicators = ",[]{}#&*!|>'\"%@`";
    return !eof() && c != '\n' && c != ' ' && kIndicators.find(c) == std::string_view::npos;
  }

  YamlNode* scalar(std::string_view text, int line, bool plain) {
    YamlNode* n = tree_.add(plain && is_null_text(text) ? Kind::null : Kind::scalar, line);
    n->text = text;
    return n;
  }

  // A one-line quoted scalar at the current position ('"' or '\'').
  YamlNode* quoted() {
    const char q = t_[pos_++];
    const size_t start = pos_;
    std::string owned;
    bool escaped = false;
    for (;;) {
      if (eof() || t_[pos_] == '\n') throw Decline{};
      const char c = t_[pos_];
      if (q == '"' && c == '\\') {
        const char e = pos_ + 1 < t_.size() ? t_[pos_ + 1] : '\0';
        if (e != '"' && e != '\\') throw Decline{};
        if (!escaped) owned.assign(t_.substr(start, pos_ - start));
        escaped = true;
        owned += e;
        pos_ += 2;
        continue;
      }
      if (c == q) {
        if (q == '\'' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '\'') {
          if (!escaped) owned.assign(t_.substr(start, pos_ - start));
          escaped = true;
          owned += '\'';
          pos_ += 2;
          continue;
        }
        break;
      }
      if (escaped) owned += c;
      ++pos_;
    }
    const std::string_view text =
        escaped ? tree_.own(std::move(owned)) : t_.substr(start, pos_ - start);
    ++pos_;  // closing quote
    return scalar(text, line_, false);
  }

  static std::string_view trim_right(std::string_view s) {
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  }

  // A map key (plain or quoted, one line) followed by ':' and a space or line end; the
  // position is left after the ':'. Returns nullptr (position unchanged) when there is none.
  YamlNode* try_key() {
    const size_t saved = pos_;
    if (cur() == '"' || cur() == '\'') {
      YamlNode* k = quoted();
      if (cur() == ':' && boundary(pos_ + 1)) {
        ++pos_;
        return k;
      }
      pos_ = saved;
      return nullptr;
    }
    if (!plain_start()) return nullptr;
    const size_t start = pos_;
    while (!eof() && t_[pos_] != '\n') {
      if (t_[pos_] == ':' && boundary(pos_ + 1)) {
        YamlNode* k = scalar(trim_right(t_.substr(start, pos_ - start)), line_, true);
        ++pos_;
        return k;
      }
      if (t_[pos_] == '#' && t_[pos_ - 1] == ' ') break;
      ++pos_;
    }
    pos_ = saved;
    return nullptr;
  }

  // A plain scalar in a flow collection: up to ',', ']' or '}'; no ':' or '#' inside.
  YamlNode* flow_plain() {
    if (!plain_start()) throw Decline{};
    const size_t start = pos_;
    while (!eof()) {
      const char c = t_[pos_];
      if (c == ',' || c == ']' || c == '}') break;
      if (c == '\n' || c == ':' || c == '#' || c == '[' || c == '{') throw Decline{};
      ++pos_;
    }
    return scalar(trim_right(t_.substr(start, pos_ - start)), line_, true);
  }

  YamlNode* flow_scalar() {
    if (cur() == '"' || cur() == '\'') return quoted();
    return flow_plain();
  }

  // [a, "b"] on one line.
  YamlNode* flow_sequence() {
    YamlNode* seq = tree_.add(Kind::sequence, line_);
    Appender items{seq};
    ++pos_;
    skip_spaces();
    if (cur() == ']') {
      ++pos_;
      return seq;
    }
    for (;;) {
      skip_spaces();
      items.add(flow_scalar());
      ++seq->size;
      skip_spaces();
      if (cur() == ']') break;
      if (cur() != ',') throw Decline{};
      ++pos_;
    }
    ++pos_;
    return seq;
  }

  // {a: b, c: "d"} on one line.
  YamlNode* flow_map() {
    YamlNode* map = tree_.add(Kind::map, line_);
    Appender entries{map};
    ++pos_;
    skip_spaces();
    if (cur() == '}') {
      ++pos_;
      return map;
    }
    for (;;) {
      skip_spaces();
      YamlNode* key = nullptr;
      if (cur() == '"' || cur() == '\'') {
        key = quoted();
      } else {
        if (!plain_start()) throw Decline{};
        const size_t start = pos_;
        while (!eof() && t_[pos_] != ':') {
          const char c = t_[pos_];
          if (c == '\n' || c == ',' || c == '#' || c == '[' || c == ']' || c == '{' || c == '}')
            throw Decline{};
          ++pos_;
        }
        key = scalar(trim_right(t_.substr(start, pos_ - start)), line_, true);
      }
      if (cur() != ':' || pos_ + 1 >= t_.size() || t_[pos_ + 1] != ' ') throw Decline{};
      ++pos_;
      skip_spaces();
      YamlNode* value = flow_scalar();
      entries.add(key);
      entries.add(value);
      ++map->size;
      skip_spaces();
      if (cur() == '}') break;
      if (cur() != ',') throw Decline{};
      ++pos_;
    }
    ++pos_;
    return map;
  }

  // A value on the rest of the current line: quoted, flow, or plain; nothing may follow but a
  // comment.
  YamlNode* inline_value() {
    YamlNode* n = nullptr;
    const char c = cur();
    if (c == '"' || c == '\'') {
      n = quoted();
    } else if (c == '[') {
      n = flow_sequence();
    } else if (c == '{') {
      n = flow_map();
    } else if (plain_start()) {
      const size_t start = pos_;
      while (!eof() && t_[pos_] != '\n') {
        if (t_[pos_] == ':' && boundary(pos_ + 1)) throw Decline{};  // "a: b: c"
        if (t_[pos_] == '#' && t_[pos_ - 1] == ' ') break;
        ++pos_;
      }
      n = scalar(trim_right(t_.substr(start, pos_ - start)), line_, true);
    } else {
      throw Decline{};
    }
    skip_spaces();
    if (!eol_or_comment()) throw Decline{};
    return n;
  }

  // After an inline value: the next content must not be indented deeper than `indent` (that
  // would be a multi-line scalar or an error).
  void end_of_inline(int indent) {
    skip_blank();
    if (!eof() && col() > indent) throw Decline{};
  }

  // A node that starts on a line of its own, at column > parent_indent.
  YamlNode* block_node(int parent_indent) {
    const int c = col();
    if (is_seq_entry()) return block_sequence(c);
    if (YamlNode* key = try_key()) return block_map(c, key);
    (void)parent_indent;
    throw Decline{};  // a scalar or flow collection on its own line
  }

  // The node after "key:" or "-" when the line ends there: nested deeper, a sequence at the
  // key's own column (maps only), or null. yaml-cpp marks a null at the next token.
  YamlNode* nested_or_null(int indent, bool allow_same_column_sequence) {
    skip_blank();
    if (eof()) return tree_.add(Kind::null, line_);
    if (col() > indent) return block_node(indent);
    if (allow_same_column_sequence && col() == indent && is_seq_entry())
      return block_sequence(indent);
    return tree_.add(Kind::null, line_);
  }

  YamlNode* block_map(int indent, YamlNode* key) {
    YamlNode* map = tree_.add(Kind::map, key->line);
    Appender entries{map};
    for (;;) {
      skip_spaces();
      YamlNode* value = nullptr;
      if (eol_or_comment()) {
        value = nested_or_null(indent, true);
      } else {
        value = inline_value();
        end_of_inline(indent);
      }
      entries.add(key);
      entries.add(value);
      ++map->size;
      if (eof() || col() < indent) return map;
      if (col() > indent) throw Decline{};
      key = try_key();
      if (!key) throw Decline{};
    }
  }

  YamlNode* block_sequence(int indent) {
    YamlNode* seq = tree_.add(Kind::sequence, line_);
    Appender items{seq};
    for (;;) {
      ++pos_;  // '-'
      skip_spaces();
      YamlNode* item = nullptr;
      if (eol_or_comment()) {
        item = nested_or_null(indent, false);
      } else if (is_seq_entry()) {
        throw Decline{};  // "- - a"
      } else {
        const int c = col();
        if (YamlNode* key = try_key()) {
          item = block_map(c, key);
        } else {
          item = inline_value();
          end_of_inline(indent);
        }
      }
      items.add(item);
      ++seq->size;
      if (eof() || col() < indent) return seq;
      if (col() > indent) throw Decline{};
      if (!is_seq_entry()) return seq;
    }
  }

  std::string_view t_;
  YamlTree& tree_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 0;
};

YamlNode* convert(YamlTree& tree, const YAML::Node& n) {
  const int line = n.Mark().line;
  if (n.IsScalar()) {
    YamlNode* s = tree.add(Kind::scalar, line);
    s->text = tree.own(n.Scalar());
    return s;
  }
  if (n.IsSequence()) {
    YamlNode* seq = tree.add(Kind::sequence, line);
    Appender items{seq};
    for (const auto& item : n) {
      items.add(convert(tree, item));
      ++seq->size;
    }
    return seq;
  }
  if (n.IsMap()) {
    YamlNode* map = tree.add(Kind::map, line);
    Appender entries{map};
    for (const auto& kv : n) {
      entries.add(convert(tree, kv.first));
      entries.add(convert(tree, kv.second));
      ++map->size;
    }
    return map;
  }
  return tree.add(Kind::null, line);
}

}  // namespace

YamlNode* YamlTree::add(YamlNode::Kind kind, int line) {
  YamlNode& n = nodes_.emplace_back();
  n.kind = kind;
  n.line = line;
  return &n;
}

std::string_view YamlTree::own(std::string s) { return strings_.emplace_back(std::move(s)); }

void YamlTree::clear() {
  nodes_.clear();
  strings_.clear();
  root_ = nullptr;
}

size_t invalid_utf8_at(std::string_view text) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = b[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;  // no surrogates
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;  // at most U+10FFFF
    else return i;
    if (n - i < len || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  size_t bad;
  while ((bad = invalid_utf8_at(text)) != std::string_view::npos) {
    out.append(text.substr(0, bad));
    out.append("\xEF\xBF\xBD");
    text.remove_prefix(bad + 1);
  }
  out.append(text);
  return out;
}

std::string yaml_text_problem(std::string_view text, int& line) {
  size_t bad = invalid_utf8_at(text);
  for (size_t i = 0; i < std::min(bad, text.size()); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
      static const char* hex = "0123456789ABCDEF";
      line = line_at_offset(text, i);
      return std::string("control character 0x") + hex[c >> 4] + hex[c & 15] + " is not allowed";
    }
  }
  if (bad == std::string_view::npos) return {};
  line = line_at_offset(text, bad);
  return "not valid UTF-8";
}

int line_at_offset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool YamlTree::load(std::string_view text, std::string& error, int& error_line, bool try_fast) {
  clear();
  if (std::string problem = yaml_text_problem(text, error_line); !problem.empty()) {
    error = std::move(problem);
    root_ = add(YamlNode::Kind::null, 0);
    return false;
  }
  if (try_fast) {
    try {
      root_ = Scanner(text, *this).document();
      fast_ = true;
      return true;
    } catch (const Decline&) {
      clear();
    }
  }
  fast_ = false;
  try {
    const YAML::Node doc = YAML::Load(std::string(text));
    root_ = convert(*this, doc);
    return true;
  } catch (const YAML::Exception& e) {
    error = valid_utf8(e.msg.empty() ? e.what() : e.msg);
    error_line = e.mark.is_null() ? 0 : e.mark.line + 1;
    clear();
    root_ = add(YamlNode::Kind::null, 0);
    return false;
  }
}

}  // namespace portier::config
