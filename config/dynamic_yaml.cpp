#include "config/dynamic_yaml.hpp"

#include <boost/container/small_vector.hpp>

#include "config/dynamic_schema.hpp"
#include "config/yaml_tree.hpp"

namespace portier::config {
namespace {

struct Ctx {
  std::string source;
  Fragment* out = nullptr;

  void error(const YamlNode& n, const std::string& path, std::string message) {
    out->errors.push_back({"file", source, path, std::move(message), n.line + 1});
  }
  size_t error_count() const { return out->errors.size(); }
};

std::string join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string r;
  r.reserve(path.size() + 1 + key.size());
  r += path;
  r += '.';
  r += key;
  return r;
}

std::string at_index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

template <class T, class D>
void read_object(Ctx& c, const YamlNode& n, const std::string& path, T& out, D describer);

// The schema visitor over one YAML mapping (config/dynamic_schema.hpp): each declared key is
// looked up case-insensitively among the mapping's entries; finish() reports the entries no
// declaration took as unknown keys. A null node is an empty mapping (`tls:` = `tls: {}`).
class YamlFields {
 public:
  YamlFields(Ctx& c, const YamlNode& n, std::string path)
      : c_(c), node_(n), path_(std::move(path)), errors_before_(c.error_count()) {
    n.each_entry([&](const YamlNode& k, const YamlNode& v) {
      if (!k.is_scalar()) return c_.error(k, path_, "keys must be strings");
      entries_.push_back({&k, &v, false});
    });
  }

  template <class M>
  void field(std::string_view key, M& out, const Opt& o = {}) {
    const Entry* e = take(key);
    if (e) read(*e->value, join(path_, e->key->text), out, o);
    if constexpr (std::is_same_v<M, std::string>)
      if ((o.flags & kRequired) && out.empty())
        c_.error(e ? *e->value : node_, join(path_, key), std::string(key) + " is required");
  }

  template <class T, class D = Describe>
  void object(std::string_view key, std::optional<T>& out, D describer = {}) {
    if (const Entry* e = take(key))
      read_object(c_, *e->value, join(path_, e->key->text), out.emplace(), describer);
  }

  template <class T, class D = Describe>
  void items(std::string_view key, std::vector<T>& out, const Opt& = {}, D describer = {}) {
    const Entry* e = take(key);
    if (!e || e->value->is_null()) return;
    const std::string path = join(path_, e->key->text);
    if (!e->value->is_sequence()) return c_.error(*e->value, path, "expected a list");
    size_t i = 0;
    e->value->each_item([&](const YamlNode& node) {
      T item;
      const size_t before = c_.error_count();
      read_object(c_, node, at_index(path, i++), item, describer);
      if (c_.error_count() == before) out.push_back(std::move(item));
    });
  }

  template <class Fn>
  void group(std::string_view key, Fn fn) {
    const Entry* e = take(key);
    if (!e) return;
    const std::string path = join(path_, e->key->text);
    if (!e->value->is_map() && !e->value->is_null())
      return c_.error(*e->value, path, "expected a mapping");
    YamlFields sub(c_, *e->value, path);
    fn(sub);
    sub.finish();
  }

  void unsupported(std::string_view key, std::string_view hint = {}) {
    if (const Entry* e = take(key)) not_supported(*e, hint);
  }

  void unsupported_unless_false(std::string_view key, std::string_view hint) {
    const Entry* e = take(key);
    if (!e) return;
    bool on = true;
    read(*e->value, join(path_, e->key->text), on, {});
    if (on) not_supported(*e, hint);
  }

  void fixed(std::string_view key, std::string_view value) {
    const Entry* e = take(key);
    if (!e) return;
    std::string got;
    read(*e->value, join(path_, e->key->text), got, {});
    if (!got.empty() && got != value)
      c_.error(*e->value, join(path_, e->key->text),
               std::string(e->key->text) + " \"" + got + "\" is not supported (only " +
                   std::string(value) + ")");
  }

  template <class Fn>
  void invariant(Fn fn) {
    if (c_.error_count() != errors_before_) return;
    if (std::string e = fn(); !e.empty()) c_.error(node_, path_, std::move(e));
  }

  // The value of `key`, marked used, for readers outside the schema (named sections).
  const YamlNode* value(std::string_view key) {
    const Entry* e = take(key);
    return e ? e->value : nullptr;
  }

  bool has(std::string_view key) const {
    for (const Entry& e : entries_)
      if (iequals(e.key->text, key)) return true;
    return false;
  }

  void finish() {
    for (const Entry& e : entries_)
      if (!e.used)
        c_.error(*e.key, join(path_, e.key->text), "unknown key \"" + std::string(e.key->text) + "\"");
  }

 private:
  struct Entry {
    const YamlNode* key;
    const YamlNode* value;
    bool used;
  };

  // The entry of `key` (any case), marked used; the last one when the mapping repeats it.
  const Entry* take(std::string_view key) {
    Entry* found = nullptr;
    for (Entry& e : entries_)
      if (iequals(e.key->text, key)) e.used = true, found = &e;
    return found;
  }

  void not_supported(const Entry& e, std::string_view hint) {
    c_.error(*e.value, join(path_, e.key->text),
             std::string(e.key->text) + std::string(hint) + " is not supported");
  }

  template <class M>
  void read(const YamlNode& n, const std::string& p, M& out, const Opt& o) {
    if (!n.is_scalar()) return c_.error(n, p, std::string("expected ") + expected(out));
    if (std::string e = read_scalar(n.text, out, o); !e.empty()) c_.error(n, p, std::move(e));
  }

  void read(const YamlNode& n, const std::string& p, std::vector<std::string>& out, const Opt&) {
    if (n.is_null()) return out.clear();
    if (!n.is_sequence()) return c_.error(n, p, "expected a list");
    out.clear();
    size_t i = 0;
    n.each_item([&](const YamlNode& item) {
      if (item.is_scalar())
        out.emplace_back(item.text);
      else
        c_.error(item, at_index(p, i), "expected a string");
      ++i;
    });
  }

  void read(const YamlNode& n, const std::string& p, std::map<std::string, std::string>& out,
            const Opt&) {
    if (n.is_null()) return;
    if (!n.is_map()) return c_.error(n, p, "expected a mapping");
    n.each_entry([&](const YamlNode& key, const YamlNode& v) {
      if (!key.is_scalar()) return c_.error(key, p, "keys must be strings");
      // `X-Removed: ""` removes a header; a YAML null means the same.
      if (v.is_null())
        out[std::string(key.text)] = "";
      else if (v.is_scalar())
        out[std::string(key.text)] = v.text;
      else
        c_.error(v, join(p, key.text), "expected a string");
    });
  }

  static const char* expected(const std::string&) { return "a string"; }
  static const char* expected(bool) { return "true or false"; }
  static const char* expected(int) { return "an integer"; }
  static const char* expected(int64_t) { return "an integer"; }
  static const char* expected(Millis) { return "a duration"; }

  Ctx& c_;
  const YamlNode& node_;
  std::string path_;
  size_t errors_before_;
  boost::container::small_vector<Entry, 12> entries_;  // most mappings: no allocation
};

// Reads mapping `n` into `out` through its schema declaration.
template <class T, class D>
void read_object(Ctx& c, const YamlNode& n, const std::string& path, T& out, D describer) {
  if (!n.is_map() && !n.is_null()) return c.error(n, path, "expected a mapping");
  YamlFields f(c, n, path);
  describer(out, f);
  f.finish();
}

// A middleware (HTTP: Middleware, TCP: TcpMiddleware) is a mapping with one key, its type.
template <class M>
void parse_middleware(Ctx& c, const YamlNode& n, const std::string& path, M& m) {
  if (!n.is_map() || n.size != 1)
    return c.error(n, path, "a middleware is a mapping with exactly one type, e.g. headers");
  const YamlNode& key = *n.first;
  // yaml-cpp's as<std::string>(""): a null key reads "null", a collection "".
  const std::string type = key.is_scalar() ? std::string(key.text) : key.is_null() ? "null" : "";
  const std::string p = join(path, type);
  if (emplace_middleware(m.spec, type)) {
    read_object(c, *key.next, p, m.spec, [](auto& s, auto& v) { describe_spec(s, v); });
  } else if (auto known = std::is_same_v<M, Middleware> ? unsupported_middleware(type) : std::string_view();
             !known.empty()) {
    c.error(key, p, "middleware type \"" + std::string(known) + "\" is not supported");
  } else {
    c.error(key, p, "unknown middleware type \"" + type + "\"");
  }
}

// A mapping of named items (`section` is the canonical path, e.g. "http.routers"); each one
// that reads without errors is stored under its name, with its source recorded.
template <class T, class Parse>
void named_items(Ctx& c, const YamlNode& n, const std::string& section,
                 std::map<std::string, T>& out, Parse parse) {
  if (n.is_null()) return;
  if (!n.is_map()) return c.error(n, section, "expected a mapping of names");
  n.each_entry([&](const YamlNode& key, const YamlNode& value) {
    if (!key.is_scalar() || key.text.empty())
      return c.error(key, section, "names must be non-empty strings");
    std::string name(key.text);
    std::string p = section + "." + name;
    if (name.find('@') != std::string::npos)
      return c.error(key, p, "names must not contain '@' (the provider is added when merging)");
    T item;
    const size_t before = c.error_count();
    parse(c, value, p, item);
    if (c.error_count() != before) return;
    out.insert_or_assign(std::move(name), std::move(item));
    c.out->sources.insert_or_assign(std::move(p), c.source);
  });
}

// The top level: named items under http, tcp, udp and tls, each read by its schema.
void parse_root(Ctx& c, const YamlNode& root) {
  auto schema = [](Ctx& cc, const YamlNode& n, const std::string& p, auto& item) {
    read_object(cc, n, p, item, Describe{});
  };
  auto named = [&](YamlFields& f, std::string_view key, const std::string& path, auto& out,
                   auto parse) {
    if (const YamlNode* n = f.value(key)) named_items(c, *n, path, out, parse);
  };
  read_object(c, root, "", c.out->dynamic, [&](Dynamic& d, auto& top) {
    top.group("http", [&](YamlFields& f) {
      named(f, "routers", "http.routers", d.http.routers, schema);
      named(f, "services", "http.services", d.http.services, schema);
      named(f, "middlewares", "http.middlewares", d.http.middlewares, parse_middleware<Middleware>);
      named(f, "serversTransports", "http.serversTransports", d.http.servers_transports, schema);
    });
    top.group("tcp", [&](YamlFields& f) {
      named(f, "routers", "tcp.routers", d.tcp.routers, schema);
      named(f, "services", "tcp.services", d.tcp.services, schema);
      named(f, "middlewares", "tcp.middlewares", d.tcp.middlewares, parse_middleware<TcpMiddleware>);
      named(f, "serversTransports", "tcp.serversTransports", d.tcp.servers_transports, schema);
    });
    top.group("udp", [&](YamlFields& f) {
      named(f, "routers", "udp.routers", d.udp.routers, schema);
      named(f, "services", "udp.services", d.udp.services, schema);
    });
    top.group("tls", [&](YamlFields& f) {
      f.items("certificates", d.tls.certificates, {}, DescribeCertificate<true>{});
      named(f, "options", "tls.options", d.tls.options, schema);
      named(f, "stores", "tls.stores", d.tls.stores, schema);
    });
  });
}

}  // namespace

Fragment parse_dynamic_yaml(std::string_view text, const std::string& source) {
  Fragment out;
  Ctx c{source, &out};
  YamlTree tree;
  std::string error;
  int line = 0;
  if (!tree.load(text, error, line)) {
    out.errors.push_back({"file", source, "", "invalid YAML: " + error, line});
    return out;
  }
  parse_root(c, tree.root());
  return out;
}

}  // namespace portier::config
