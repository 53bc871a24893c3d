#pragma once
// Test helpers that walk the dynamic schema (config/dynamic_schema.hpp) declaration by
// declaration: Fill gives every declared field a valid non-default value, LabelLister writes an
// object back as the Docker labels that should decode to it.
#include <string>
#include <utility>
#include <vector>

#include "config/dynamic_schema.hpp"

namespace portier::config::testing {

// Sets every field to a valid value different from its default; engages every optional and
// gives every list of objects one element. Counts the fields it set.
struct Fill {
  int fields = 0;

  template <class M>
  void field(std::string_view key, M& out, const Opt& o = {}) {
    ++fields;
    if constexpr (std::is_same_v<M, std::string>) {
      if (o.choices) out = std::string(o.choices->front() == out ? o.choices->back() : o.choices->front());
      else out = "v-" + std::string(key);
    } else if constexpr (std::is_same_v<M, bool>) {
      out = !out;
    } else if constexpr (std::is_same_v<M, Millis>) {
      out = out == Millis(1500) ? Millis(2500) : Millis(1500);
    } else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
      out = {"a-" + std::string(key), "b"};
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
      out = {{"X-One", "1"}, {"X-Two", "two words"}};
    } else {
      const M before = out;
      out = out == 7 ? 8 : 7;
      if (o.range.min > 7) out = static_cast<M>(o.range.min);
      if (out > o.range.max) out = static_cast<M>(before == o.range.max ? o.range.min : o.range.max);
    }
  }
  template <class T, class D = Describe>
  void object(std::string_view, std::optional<T>& out, D d = {}) {
    d(out.emplace(), *this);
  }
  template <class T, class D = Describe>
  void items(std::string_view, std::vector<T>& out, const Opt& = {}, D d = {}) {
    d(out.emplace_back(), *this);
  }
  template <class Fn>
  void group(std::string_view, Fn fn) { fn(*this); }
  void unsupported(std::string_view, std::string_view = {}) {}
  void unsupported_unless_false(std::string_view, std::string_view) {}
  void fixed(std::string_view, std::string_view) {}
  template <class Fn>
  void invariant(Fn) {}
  bool has(std::string_view) const { return true; }
};

template <class T, class D = Describe>
T filled(D d = {}) {
  T x{};
  Fill f;
  d(x, f);
  return x;
}

// The labels (under `prefix`, keys in Traefik's camelCase: matching is case-insensitive) that
// set an object's declared fields to its current values. Lists of objects use key[N].
struct LabelLister {
  std::string prefix;
  std::vector<std::pair<std::string, std::string>> labels;

  template <class M>
  void field(std::string_view key, const M& v, const Opt& = {}) {
    const std::string k = prefix + std::string(key);
    if constexpr (std::is_same_v<M, std::string>) labels.emplace_back(k, v);
    else if constexpr (std::is_same_v<M, bool>) labels.emplace_back(k, v ? "true" : "false");
    else if constexpr (std::is_same_v<M, Millis>) labels.emplace_back(k, format_duration(v));
    else if constexpr (std::is_same_v<M, std::vector<std::string>>) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      labels.emplace_back(k, s);
    } else if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
      for (const auto& [mk, mv] : v) labels.emplace_back(k + "." + mk, mv);
    } else {
      labels.emplace_back(k, std::to_string(v));
    }
  }
  template <class T, class D = Describe>
  void object(std::string_view key, std::optional<T>& v, D d = {}) {
    if (v) nested(std::string(key) + ".", [&] { d(*v, *this); });
  }
  template <class T, class D = Describe>
  void items(std::string_view key, std::vector<T>& v, const Opt& o = {}, D d = {}) {
    if (o.flags & kNoLabel) return;
    for (size_t i = 0; i < v.size(); ++i)
      nested(std::string(key) + "[" + std::to_string(i) + "].", [&] { d(v[i], *this); });
  }
  template <class Fn>
  void group(std::string_view key, Fn fn) {
    nested(std::string(key) + ".", [&] { fn(*this); });
  }
  void unsupported(std::string_view, std::string_view = {}) {}
  void unsupported_unless_false(std::string_view, std::string_view) {}
  void fixed(std::string_view, std::string_view) {}
  template <class Fn>
  void invariant(Fn) {}
  bool has(std::string_view) const { return true; }

 private:
  template <class Fn>
  void nested(const std::string& key, Fn fn) {
    const std::string saved = prefix;
    prefix += key;
    fn();
    prefix = saved;
  }
};

}  // namespace portier::config::testing
