// The fast block-YAML scanner must build exactly the tree yaml-cpp builds (kinds, scalar
// texts, lines: errors point at them), or decline and let yaml-cpp load the text.
#include "config/yaml_tree.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace portier::config;

namespace {

std::string describe(const YamlNode& n, int depth = 0) {
  static const char* kinds[] = {"null", "scalar", "seq", "map"};
  std::string s(static_cast<size_t>(depth) * 2, ' ');
  s += kinds[static_cast<int>(n.kind)];
  s += " line=" + std::to_string(n.line) + " size=" + std::to_string(n.size);
  if (n.is_scalar()) s += " '" + std::string(n.text) + "'";
  s += "\n";
  for (const YamlNode* c = n.first; c; c = c->next) s += describe(*c, depth + 1);
  return s;
}

struct Loaded {
  bool ok = false;
  bool fast = false;
  std::string tree, error;
  int line = 0;
};

Loaded load(const std::string& text, bool try_fast) {
  YamlTree t;
  Loaded r;
  r.ok = t.load(text, r.error, r.line, try_fast);
  r.fast = t.fast();
  r.tree = describe(t.root());
  return r;
}

// Both paths agree; returns whether the fast scanner handled the text.
bool same_as_yaml_cpp(const std::string& text) {
  const Loaded fast = load(text, true);
  const Loaded slow = load(text, false);
  INFO("text:\n" << text << "\nfast:\n" << fast.tree << "yaml-cpp:\n" << slow.tree);
  CHECK(fast.ok == slow.ok);
  CHECK(fast.tree == slow.tree);
  CHECK(fast.error == slow.error);
  CHECK(fast.line == slow.line);
  return fast.fast;
}

}  // namespace

TEST_CASE("the fast scanner builds yaml-cpp's tree for block-style configuration files") {
  const std::vector<std::string> handled = {
      "",
      "\n\n",
      "# only a comment\n",
      "---\n",
      "--- # doc\nhttp: {}\n",
      "a:\nb: 1",
      "a:",
      "a:\n",
      "a:\n\n# trailing comment\n\n",
      "x:\n  a:\n  # c\n\n  b:\ny: 1\n",
      "- \n- a\n-",
      "- \n- a\n-\n",
      "a: ~\nb: null\nc: \"null\"\nd: {}\ne: []\nf: Null\ng: NULL\nh: ''\n",
      "k: v #c\n# d\n  ",
      "k: v#not a comment\nurl: http://127.0.0.1:8080/x?y=1#frag\n",
      "rule: \"Host(`a.example.com`) && PathPrefix(`/v1`)\"\nother: Host(`b`) || Path(`/x`)\n",
      "q: 'it''s'\nd: \"a \\\"quoted\\\" \\\\ word\"\n",
      "\"quoted key\": 1\n'single': 2\n",
      "a  : spaced key\n",
      "list: [web, websecure]\nempty: []\nq: [\"a b\", 'c']\none: [x]\n",
      "hc: {interval: 1m30s, timeout: 2}\nq: {'a': \"b\"}\n",
      "servers:\n- url: a\n  weight: 2\n- url: b\nafter: 1\n",
      "servers:\n  - url: a\n    weight: 2\n\n  - url: b\n",
      "seq:\n  -\n    url: x\n  -\n  - y\n",
      "dup: 1\ndup: 2\n",
      "  indented: root\n  second: 2\n",
      "a:\n    deep: 1\n    deeper:\n        x: y\nb: 2\n",
      "-1: minus\n:colon: x\n?q: y\n",
      "~: null key\n",
      "http:\n  routers:\n    r0:\n      rule: \"Host(`s0.bench.local`)\"\n      entryPoints: "
      "[web]\n"
      "      service: s0\n  services:\n    s0:\n      loadBalancer:\n        servers:\n"
      "          - url: \"http://127.0.0.1:9\"\n",
      "a: b, c [d] {e}\n",
      "- a: 1\n  b:\n- c\n",
  };
  for (const auto& text : handled) {
    INFO(text);
    CHECK(same_as_yaml_cpp(text));
  }
}

TEST_CASE("other YAML is left to yaml-cpp, with its errors") {
  const std::vector<std::string> declined = {
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "a: |\n  text\n",
      "a: >\n  folded\n",
      "a: plain\n  continued\n",
      "a: \"two\n  lines\"\n",
      "a: \"\\t escape\"\n",
      "a:\tb\n",
      "a: b\r\nc: d\r\n",
      "a: caf\xc3\xa9\n",
      "? complex\n: key\n",
      "- - nested\n",
      "a: [x, [y]]\n",
      "a: [x, , y]\n",
      "a: {b: , c}\n",
      "%YAML 1.2\n---\na: 1\n",
      "a: 1\n---\nb: 2\n",
      "a: 1\n...\n",
      "scalar root\n",
      "a: [unclosed\n",
      "a: b: c\n",
      "a:\n  b: 1\n c: 2\n",
      "- a\nb: 1\n",
  };
  for (const auto& text : declined) {
    INFO(text);
    CHECK_FALSE(same_as_yaml_cpp(text));
  }
}

// Random block documents (maps, sequences in both indentation styles, flow lists, quoted and
// plain scalars, nulls, comments, blank lines): both paths must agree on every one.
TEST_CASE("random block documents load the same through both paths") {
  std::mt19937 rng(12345);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> scalars = {"web",
                                            "Host(`a.b`)",
                                            "\"quoted: yes\"",
                                            "'single # not comment'",
                                            "~",
                                            "null",
                                            "",
                                            "http://127.0.0.1:80",
                                            "1m30s",
                                            "[a, b]",
                                            "{k: v}",
                                            "42",
                                            "a b  c",
                                            "[]",
                                            "\"\"",
                                            "true"};
  std::function<void(std::string&, int, int)> node;
  auto comment = [&](std::string& out) {
    if (pick(5) == 0) out += "  # note";
  };
  auto blank = [&](std::string& out, int indent) {
    if (pick(6) == 0) out += "\n";
    if (pick(8) == 0) out += std::string(static_cast<size_t>(indent), ' ') + "# comment\n";
  };
  // Appends the value of a key or item that ends its line (nested block or null).
  node = [&](std::string& out, int indent, int depth) {
    const int kind = depth > 3 ? 2 : pick(3);
    const int entries = 1 + pick(3);
    if (kind == 0) {  // map
      for (int i = 0; i < entries; ++i) {
        blank(out, indent);
        out += std::string(static_cast<size_t>(indent), ' ') + "k" + std::to_string(pick(4)) + ":";
        if (pick(3) == 0) {
          comment(out);
          out += "\n";
          node(out, indent + 2 + pick(2) * 2, depth + 1);
        } else {
          const std::string& s =
              scalars[static_cast<size_t>(pick(static_cast<int>(scalars.size())))];
          out += (s.empty() ? "" : " " + s);
          comment(out);
          out += "\n";
        }
      }
    } else if (kind == 1) {  // sequence
      for (int i = 0; i < entries; ++i) {
        blank(out, indent);
        out += std::string(static_cast<size_t>(indent), ' ') + "-";
        if (pick(3) == 0) {
          out += " m: " + scalars[static_cast<size_t>(pick(4))] + "\n";
          out += std::string(static_cast<size_t>(indent + 2), ' ') + "n: x\n";
        } else {
          const std::string& s =
              scalars[static_cast<size_t>(pick(static_cast<int>(scalars.size())))];
          out += (s.empty() ? "" : " " + s);
          comment(out);
          out += "\n";
        }
      }
    } else {  // map whose values are sequences at the key's own column
      for (int i = 0; i < entries; ++i) {
        out += std::string(static_cast<size_t>(indent), ' ') + "list" + std::to_string(i) + ":\n";
        out += std::string(static_cast<size_t>(indent), ' ') + "- a\n";
        out += std::string(static_cast<size_t>(indent), ' ') + "- b: c\n";
      }
    }
  };
  int handled = 0;
  for (int doc = 0; doc < 400; ++doc) {
    std::string text;
    if (pick(4) == 0) text += "---\n";
    node(text, 0, 0);
    if (same_as_yaml_cpp(text)) ++handled;
  }
  CHECK(handled > 300);  // the generator stays inside the subset
}
