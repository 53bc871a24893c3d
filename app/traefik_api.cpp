#include "app/traefik_api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "app/dashboard_page.hpp"

namespace portier::app {

using nlohmann::json;
using proxy::ApiReply;

namespace {

constexpr const char* kJson = "application/json";

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

ApiReply reply(const json& j) { return ApiReply{200, kJson, dump(j), {}}; }

// Traefik's writeError: {"message": ...} through Go's http.Error (text/plain).
ApiReply error(int status, const std::string& message) {
  return ApiReply{status, "text/plain; charset=utf-8", dump(json{{"message", message}}), {}};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding (and '+' as space in a query); nullopt on a bad escape, as Go refuses it.
std::optional<std::string> unescape(std::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && query) {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// The first value of each query key (Go's url.Values.Get); pairs that do not decode are skipped.
std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = unescape(pair.substr(0, eq), true);
    auto value = unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (key && value) out.try_emplace(*key, *value);
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Traefik's searchCriterion (pkg/api/criterion.go).
struct Criterion {
  std::string search, status, service, middleware;
  bool keep_status(const json& item) const { return status.empty() || lower(item.value("status", "")) == lower(status); }
  bool search_in(std::initializer_list<std::string> values) const {
    if (search.empty()) return true;
    return std::any_of(values.begin(), values.end(),
                       [&](const std::string& v) { return lower(v).find(lower(search)) != std::string::npos; });
  }
  bool keep_service(const std::string& name) const {
    if (service.empty()) return true;
    if (name.find('@') != std::string::npos) return service == name;
    return service.substr(0, service.find('@')) == name;
  }
  bool keep_middleware(const json& names) const {
    return middleware.empty() || std::find(names.begin(), names.end(), json(middleware)) != names.end();
  }
};

// The query's value of `key`, "" when absent (Go's url.Values.Get).
std::string param(const std::map<std::string, std::string>& q, const char* key) {
  auto it = q.find(key);
  return it == q.end() ? std::string{} : it->second;
}

Criterion criterion(const std::map<std::string, std::string>& q) {
  return {param(q, "search"), param(q, "status"), param(q, "serviceName"), param(q, "middlewareName")};
}

bool keep(const Criterion& c, bool is_router, const std::string& name, const json& item) {
  if (!c.keep_status(item)) return false;
  if (!is_router) return c.search_in({name});
  return c.search_in({item.value("rule", ""), name}) && c.keep_service(item.value("service", "")) &&
         c.keep_middleware(item.value("middlewares", json::array()));
}

std::string provider_of(const std::string& name) {
  auto at = name.find('@');
  return at == std::string::npos ? "" : name.substr(at + 1);
}

// One item as Traefik's list and detail endpoints show it (name, provider, type, priorityStr).
json representation(const std::string& name, const json& item, bool is_router) {
  json r = item;
  r["name"] = name;
  r["provider"] = provider_of(name);
  if (is_router && item.contains("priority")) r["priorityStr"] = std::to_string(item["priority"].get<long long>());
  if (!is_router) {
    for (const auto& [k, v] : item.items())
      if (v.is_object() && k != "serverStatus") r["type"] = lower(k);
  }
  return r;
}

// A field of one list item's representation as Traefik's sort.go reads it: a count for
// "entryPoints" and "servers" (a load balancer's, else 0), 0 for a missing "priority" (UDP
// routers), "" for a missing string field.
json sort_key(const json& item, std::string_view by) {
  auto array_size = [](const json& j, const char* key) -> size_t {
    auto it = j.find(key);
    return it != j.end() && it->is_array() ? it->size() : 0;
  };
  if (by == "entryPoints") return array_size(item, "entryPoints");
  if (by == "servers") {
    auto lb = item.find("loadBalancer");
    return lb != item.end() && lb->is_object() ? array_size(*lb, "servers") : 0;
  }
  auto it = item.find(by);
  if (by == "priority") return it != item.end() && it->is_number() ? *it : json(0);
  return it != item.end() && it->is_string() ? *it : json("");
}

// Traefik's sortRouters/sortServices/sortMiddlewares (pkg/api/sort.go): sortBy one of the list's
// fields, ties broken by name; any other sortBy (or none) sorts by name alone. direction "asc"
// or empty is ascending, any other value descending (names are unique, so descending is the
// exact reverse). Entry points sort by name only: Traefik ignores both parameters there, portier
// honours direction.
void sort_items(json& items, std::string_view kind, const std::map<std::string, std::string>& q) {
  static const std::map<std::string_view, std::set<std::string_view>> fields{
      {"routers", {"provider", "priority", "status", "rule", "service", "entryPoints"}},
      {"services", {"type", "servers", "provider", "status"}},
      {"middlewares", {"type", "provider", "status"}}};
  const std::string by = param(q, "sortBy"), direction = param(q, "direction");
  auto f = fields.find(kind);
  const bool by_field = f != fields.end() && f->second.count(by) > 0;
  struct Keyed {
    json key;  // null when sorting by name alone
    std::string name;
    json item;
  };
  std::vector<Keyed> keyed;
  for (auto& item : items)
    keyed.push_back({by_field ? sort_key(item, by) : json(), item.value("name", ""), std::move(item)});
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.key != b.key ? a.key < b.key : a.name < b.name;
  });
  if (!direction.empty() && direction != "asc") std::reverse(keyed.begin(), keyed.end());
  items = json::array();
  for (auto& k : keyed) items.push_back(std::move(k.item));
}

// Traefik's pagination(): per_page (default 100) and page (default 1), X-Next-Page.
ApiReply paginate(json items, const std::map<std::string, std::string>& q) {
  auto param = [&](const char* key, int fallback) -> std::optional<int> {
    auto it = q.find(key);
    if (it == q.end() || it->second.empty()) return fallback;
    int v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc{} || p != it->second.data() + it->second.size() || v <= 0) return std::nullopt;
    return v;
  };
  auto per_page = param("per_page", 100), page = param("page", 1);
  if (!per_page) return error(400, "invalid request: per_page: " + q.at("per_page"));
  if (!page) return error(400, "invalid request: page: " + q.at("page"));
  const long long total = static_cast<long long>(items.size());
  const long long start = static_cast<long long>(*page - 1) * *per_page;
  if (start != 0 && start >= total)
    return error(400, "invalid request: page: " + std::to_string(*page) + ", per_page: " + std::to_string(*per_page));
  const long long end = std::min(start + *per_page, total);
  const long long next = static_cast<long long>(*page) * *per_page < total ? *page + 1 : 1;
  json out = json::array();
  for (long long i = start; i < end; ++i) out.push_back(std::move(items[static_cast<size_t>(i)]));
  ApiReply r = reply(out);
  r.headers.emplace_back("X-Next-Page", std::to_string(next));
  return r;
}

// /api/{http,tcp,udp}/{routers,services,middlewares} → the runtime section's key.
const char* runtime_key(std::string_view proto, std::string_view kind) {
  static const std::map<std::pair<std::string_view, std::string_view>, const char*> keys{
      {{"http", "routers"}, "routers"},         {{"http", "services"}, "services"},
      {{"http", "middlewares"}, "middlewares"}, {{"tcp", "routers"}, "tcpRouters"},
      {{"tcp", "services"}, "tcpServices"},     {{"tcp", "middlewares"}, "tcpMiddlewares"},
      {{"udp", "routers"}, "udpRouters"},       {{"udp", "services"}, "udpServices"}};
  auto it = keys.find({proto, kind});
  return it == keys.end() ? nullptr : it->second;
}

ApiReply resource(const ApiState& s, std::string_view proto, std::string_view kind, std::string_view id,
                  const std::map<std::string, std::string>& q) {
  const char* key = runtime_key(proto, kind);
  if (!key) return error(404, "404 page not found");
  const bool is_router = kind == "routers";
  static const json empty = json::object();
  const json& section = s.runtime.contains(key) ? s.runtime[key] : empty;
  if (id.empty()) {
    const Criterion c = criterion(q);
    json items = json::array();
    for (const auto& [name, item] : section.items())  // a json object iterates by name
      if (keep(c, is_router, name, item)) items.push_back(representation(name, item, is_router));
    sort_items(items, kind, q);
    return paginate(std::move(items), q);
  }
  auto name = unescape(id, false);
  if (!name) return error(400, "unable to decode " + std::string(kind) + " ID \"" + std::string(id) + "\"");
  std::string singular(kind.substr(0, kind.size() - 1));
  if (!section.contains(*name)) return error(404, singular + " not found: " + *name);
  return reply(representation(*name, section[*name], is_router));
}

json overview_section(const json& runtime, const char* key) {
  int total = 0, warnings = 0, errors = 0;
  if (runtime.contains(key)) {
    for (const auto& [name, item] : runtime[key].items()) {
      ++total;
      const std::string status = item.value("status", "");
      warnings += status == "warning";
      errors += status == "disabled";
    }
  }
  return {{"total", total}, {"warnings", warnings}, {"errors", errors}};
}

json overview(const ApiState& s) {
  auto scheme = [&](const char* routers, const char* services, const char* middlewares) {
    json j{{"routers", overview_section(s.runtime, routers)}, {"services", overview_section(s.runtime, services)}};
    if (middlewares) j["middlewares"] = overview_section(s.runtime, middlewares);
    return j;
  };
  json out{{"http", scheme("routers", "services", "middlewares")},
           {"tcp", scheme("tcpRouters", "tcpServices", "tcpMiddlewares")},
           {"udp", scheme("udpRouters", "udpServices", nullptr)},
           {"features", s.features}};
  if (!s.providers.empty()) out["providers"] = s.providers;
  return out;
}

ApiReply entry_points(const ApiState& s, std::string_view id, const std::map<std::string, std::string>& q) {
  if (id.empty()) {
    json items = s.entry_points;
    sort_items(items, "entrypoints", q);
    return paginate(std::move(items), q);
  }
  auto name = unescape(id, false);
  if (!name) return error(400, "unable to decode entryPointID \"" + std::string(id) + "\"");
  for (const auto& ep : s.entry_points)
    if (ep.value("name", "") == *name) return reply(ep);
  return error(404, "entry point not found: " + *name);
}

// "/a/b/c" → {"a", "b", "c"} (at most 4 segments; more makes the path unknown).
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty() && out.size() <= 4) {
    path.remove_prefix(1);  // the '/'
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  return out;
}

ApiReply api(const ApiState& s, std::string_view path, std::string_view query) {
  const auto q = parse_query(query);
  auto seg = segments(path);  // seg[0] == "api"
  const size_t n = seg.size();
  if (n == 2 && seg[1] == "rawdata") return reply(s.runtime);
  if (n == 2 && seg[1] == "overview") return reply(overview(s));
  if (n == 2 && seg[1] == "portier") return reply(s.portier);
  if (n == 2 && seg[1] == "version")
    return reply(json{{"Version", s.version}, {"Codename", "portier"}, {"startDate", s.start_date},
                      {"disableDashboardAd", true}, {"dashboardName", s.dashboard_name}});
  if ((n == 2 || n == 3) && seg[1] == "entrypoints") return entry_points(s, n == 3 ? seg[2] : "", q);
  if ((n == 3 || (n == 4 && !seg[3].empty())) && (seg[1] == "http" || seg[1] == "tcp" || seg[1] == "udp"))
    return resource(s, seg[1], seg[2], n == 4 ? seg[3] : "", q);
  return error(404, "404 page not found");
}

ApiReply dashboard(const ApiState& s, std::string_view path) {
  if (!s.dashboard) return error(404, "404 page not found");
  if (path == "/dashboard") return ApiReply{301, "text/plain; charset=utf-8", "", {{"Location", "/dashboard/"}}};
  if (auto file = dashboard_file(path.substr(std::string_view("/dashboard").size())))
    // The page may load only from its own origin (it needs nothing else).
    return ApiReply{200, std::string(file->content_type), std::string(file->body),
                    {{"Content-Security-Policy", "default-src 'self'; img-src 'self' data:"}}};
  return error(404, "404 page not found");
}

}  // namespace

ApiReply answer_api(const ApiState& state, std::string_view method, std::string_view path, std::string_view query) {
  const bool is_api = path == "/api" || path.starts_with("/api/");
  const bool is_dashboard = path == "/dashboard" || path.starts_with("/dashboard/");
  if (!is_api && !is_dashboard) return error(404, "404 page not found");
  if (method != "GET" && method != "HEAD") return error(405, "method not allowed");
  return is_api ? api(state, path, query) : dashboard(state, path);
}

}  // namespace portier::app
