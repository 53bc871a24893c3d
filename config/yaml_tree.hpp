#pragma once
// A small read-only YAML node tree for the dynamic-configuration readers (dynamic_yaml.cpp).
//
// Why not yaml-cpp's YAML::Node: a 10,000-router file (~2 MB) takes yaml-cpp ~1 s to load and
// free, most of a reload. load() first tries a fast scanner for the block-style subset that
// configuration files use (block maps and sequences, one-line plain and quoted scalars, one-line
// flow sequences/maps of scalars, comments); it builds the tree straight from the text in a few
// milliseconds. Any other construct (anchors, tags, block scalars, multi-line scalars, escapes
// other than \" and \\, tabs, CR, non-ASCII bytes, several documents, and every syntax error)
// makes the scanner give up, and the text is loaded with yaml-cpp instead and converted. So the
// tree is always the one yaml-cpp would produce, and errors are yaml-cpp's own messages.
// tests/unit/config/yaml_tree_test.cpp checks both paths give identical trees.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace portier::config {

struct YamlNode {
  enum class Kind : uint8_t { null, scalar, sequence, map };
  Kind kind = Kind::null;
  int line = 0;               // 0-based line of the node's start (yaml-cpp's Mark().line)
  uint32_t size = 0;          // sequence items or map entries
  std::string_view text;      // scalars: the value, unquoted and unescaped
  YamlNode* first = nullptr;  // first child; maps alternate key, value, key, value, ...
  YamlNode* next = nullptr;   // next sibling

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_map() const { return kind == Kind::map; }

  // Calls fn(item) for each sequence item, or fn(key, value) for each map entry, in order.
  template <class Fn>
  void each_item(Fn fn) const {
    for (const YamlNode* n = first; n; n = n->next) fn(*n);
  }
  template <class Fn>
  void each_entry(Fn fn) const {
    for (const YamlNode* k = first; k && k->next; k = k->next->next) fn(*k, *k->next);
  }
};

class YamlTree {
 public:
  // Loads the first document of `text`. On a syntax error returns false and sets `error`
  // (yaml-cpp's message) and `error_line` (1-based, 0 when unknown). Scalars may point into
  // `text`: it must outlive the tree. An empty document is a null root. `try_fast` = false
  // skips the fast scanner (tests compare both paths).
  bool load(std::string_view text, std::string& error, int& error_line, bool try_fast = true);
  const YamlNode& root() const { return *root_; }
  // Whether the last load() used the fast scanner (for tests and diagnostics).
  bool fast() const { return fast_; }

  // Used by the builders: nodes and owned strings live as long as the tree.
  YamlNode* add(YamlNode::Kind kind, int line);
  std::string_view own(std::string s);
  void clear();

 private:
  std::deque<YamlNode> nodes_;
  std::deque<std::string> strings_;
  YamlNode* root_ = nullptr;
  bool fast_ = false;
};

// The offset of the first byte of `text` that is not well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos. YAML text must be Unicode (Traefik's
// Go parser and Compose reject other bytes too), and what is read from it ends up in JSON
// (/routes.json, the JSON log), which cannot carry other bytes: every YAML reader checks this
// before parsing.
size_t invalid_utf8_at(std::string_view text);

// "" when `text` can go to the YAML parser, else why not: "not valid UTF-8", or "control
// character 0x00 is not allowed" for C0 controls other than tab, LF and CR, and DEL (YAML's
// printable set; Go's parser refuses them too, and yaml-cpp turned a NUL into a lone 0x85
// byte). `line` is then the 1-based line of the offending byte.
std::string yaml_text_problem(std::string_view text, int& line);

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD. For texts
// that quote input, such as yaml-cpp's messages ("unknown escape character: X" holds one byte
// of a multi-byte character).
std::string valid_utf8(std::string_view text);

// The 1-based line of byte `offset` of `text`.
int line_at_offset(std::string_view text, size_t offset);

}  // namespace portier::config
