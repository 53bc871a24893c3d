#include "discovery/label_fields.hpp"

#include <charconv>

#include "config/dynamic_schema.hpp"

namespace portier::discovery::labels {
namespace {

using config::Opt;

// The schema visitor for one label (config/dynamic_schema.hpp): walks the declarations of the
// object the label starts at, and applies the value to the one field whose keys match the
// label's path (any case). A path no declaration takes is an unknown field.
class LabelField {
 public:
  LabelField(const FieldPath& f, const std::string& value) : f_(f), value_(value) {}

  template <class M>
  void field(std::string_view key, M& out, const Opt& o = {}) {
    if (!at(key)) return;
    if constexpr (std::is_same_v<M, std::map<std::string, std::string>>) {
      if (pos_ + 2 != f_.lower.size()) return;
      out[f_.raw[pos_ + 1]] = value_;
    } else {
      if (!last()) return;
      if constexpr (std::is_same_v<M, std::vector<std::string>>)
        out = config::split_comma_list(value_);
      else
        error_ = config::read_scalar(value_, out, o);
    }
    done_ = true;
  }

  // `key=true` engages the object, `key=false` resets it; `key.field=...` sets a field of it.
  template <class T, class D = config::Describe>
  void object(std::string_view key, std::optional<T>& out, D describer = {}) {
    if (!at(key)) return;
    if (last()) {
      bool on = false;
      error_ = config::read_bool(value_, on);
      if (error_.empty() && on && !out) out.emplace();
      if (error_.empty() && !on) out.reset();
      done_ = true;
      return;
    }
    if (!out) out.emplace();
    descend([&] { describer(*out, *this); });
  }

  // `key[N].field=...`, N up to 100.
  template <class T, class D = config::Describe>
  void items(std::string_view key, std::vector<T>& out, const Opt& o = {}, D describer = {}) {
    if (done_ || (o.flags & config::kNoLabel) || last()) return;
    const std::string& token = f_.lower[pos_];
    if (token.size() < key.size() + 3 || !config::iequals(token.substr(0, key.size()), key) ||
        token[key.size()] != '[' || token.back() != ']')
      return;
    size_t i = 0;
    const char* digits = token.data() + key.size() + 1;
    const char* end = token.data() + token.size() - 1;
    auto [p, ec] = std::from_chars(digits, end, i);
    if (ec != std::errc() || p != end || i > 100) return;
    if (out.size() <= i) out.resize(i + 1);
    descend([&] { describer(out[i], *this); });
  }

  template <class Fn>
  void group(std::string_view key, Fn fn) {
    if (at(key) && !last()) descend([&] { fn(*this); });
  }

  void unsupported(std::string_view key, std::string_view hint = {}) {
    if (!at(key)) return;
    error_ = std::string(key) + std::string(hint) + " is not supported";
    done_ = true;
  }

  void unsupported_unless_false(std::string_view key, std::string_view hint) {
    if (!at(key)) return;
    bool on = true;
    if (last() && !config::read_bool(value_, on).empty()) on = true;
    if (on) return unsupported(key, hint);
    done_ = true;
  }

  void fixed(std::string_view key, std::string_view value) {
    if (!at(key) || !last()) return;
    if (!value_.empty() && value_ != value)
      error_ = std::string(key) + " \"" + value_ + "\" is not supported (only " + std::string(value) + ")";
    done_ = true;
  }

  template <class Fn>
  void invariant(Fn) {}
  bool has(std::string_view) const { return true; }

  // "" or what is wrong; an unknown field when no declaration took the path.
  std::string result() const {
    return done_ ? error_ : "unknown field \"" + f_.joined() + "\"";
  }

 private:
  bool at(std::string_view key) const {
    return !done_ && pos_ < f_.lower.size() && config::iequals(f_.lower[pos_], key);
  }
  bool last() const { return pos_ + 1 == f_.lower.size(); }
  template <class Fn>
  void descend(Fn fn) {
    ++pos_;
    fn();
    --pos_;
  }

  const FieldPath& f_;
  const std::string& value_;
  size_t pos_ = 0;
  bool done_ = false;
  std::string error_;
};

}  // namespace

// Labels give one server per service next to the load balancer's settings.
template <class V>
void describe(RawHttpService& s, V& v) {
  v.group("loadBalancer", [&](auto& g) {
    describe(s.lb, g);
    g.group("server", [&](auto& srv) {
      srv.field("port", s.port, {.range = config::kPort});
      srv.field("scheme", s.scheme);
      srv.field("url", s.url);
      srv.field("weight", s.weight, {.range = config::kWeight});
    });
  });
  // Traefik's Docker provider has no labels for these types (label:"-"): a file declares them.
  for (const char* type : {"weighted", "mirroring", "failover", "highestRandomWeight"})
    v.unsupported(type, " in Docker labels (Traefik's labels cannot declare this service type; "
                        "declare it in a dynamic configuration file)");
}

template <class Raw, class V>
void describe_l4(Raw& s, V& v) {
  describe(s.svc, v);
  v.group("loadBalancer", [&](auto& g) {
    g.group("server", [&](auto& srv) {
      srv.field("port", s.port, {.range = config::kPort});
      srv.field("address", s.address);
      srv.field("weight", s.weight, {.range = config::kWeight});
      if constexpr (requires { s.tls; }) srv.field("tls", s.tls);
    });
  });
}

template <class V>
void describe(RawTcpService& s, V& v) { describe_l4(s, v); }
template <class V>
void describe(RawUdpService& s, V& v) { describe_l4(s, v); }

namespace {

template <class T, class D = config::Describe>
std::string apply(T& target, const FieldPath& f, const std::string& v, D describer = {}) {
  LabelField field(f, v);
  describer(target, field);
  return field.result();
}

}  // namespace

std::string FieldPath::joined() const {
  std::string s;
  for (const auto& t : lower) s += (s.empty() ? "" : ".") + t;
  return s;
}

std::string set_http_router(config::HttpRouter& r, const FieldPath& f, const std::string& v) {
  return apply(r, f, v);
}

std::string set_http_service(RawHttpService& s, const FieldPath& f, const std::string& v) {
  return apply(s, f, v);
}

namespace {

template <class Spec>
std::string set_any_middleware(RawMiddlewareOf<Spec>& m, const FieldPath& f, const std::string& v) {
  const std::string& type = f.lower[0];
  if (!m.type.empty() && m.type != type)
    return "middleware has two types (\"" + m.type + "\" and \"" + type + "\")";
  if (m.type.empty()) {
    if (!config::emplace_middleware(m.spec, type)) {
      auto known = std::is_same_v<Spec, config::MiddlewareSpec> ? config::unsupported_middleware(type)
                                                                 : std::string_view();
      return known.empty() ? "unknown middleware type \"" + f.raw[0] + "\""
                           : "middleware type \"" + std::string(known) + "\" is not supported";
    }
    m.type = type;
  }
  if (f.lower.size() < 2) return "middleware \"" + type + "\" needs a field";
  FieldPath rest;
  rest.lower.assign(f.lower.begin() + 1, f.lower.end());
  rest.raw.assign(f.raw.begin() + 1, f.raw.end());
  return apply(m.spec, rest, v, [](Spec& s, auto& visitor) { config::describe_spec(s, visitor); });
}

}  // namespace

std::string set_middleware(RawMiddleware& m, const FieldPath& f, const std::string& v) {
  return set_any_middleware(m, f, v);
}

std::string set_middleware(RawTcpMiddleware& m, const FieldPath& f, const std::string& v) {
  return set_any_middleware(m, f, v);
}

std::string set_tcp_router(config::TcpRouter& r, const FieldPath& f, const std::string& v) {
  return apply(r, f, v);
}

std::string set_tcp_service(RawTcpService& s, const FieldPath& f, const std::string& v) {
  return apply(s, f, v);
}

std::string set_udp_router(config::UdpRouter& r, const FieldPath& f, const std::string& v) {
  return apply(r, f, v);
}

std::string set_udp_service(RawUdpService& s, const FieldPath& f, const std::string& v) {
  return apply(s, f, v);
}

}  // namespace portier::discovery::labels
