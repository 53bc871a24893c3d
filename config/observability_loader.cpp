#include "config/observability_loader.hpp"

#include "config/http_token.hpp"
#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/log.hpp"

namespace portier::config {

namespace {

using Node = YAML::Node;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Reads a map of NAME: MODE into `out` with `parse` (MODE → optional value).
template <class T, class Parse>
void read_modes(const Node& v, const std::string& path, YamlReader& r, bool header_names,
                std::map<std::string, T>& out, Parse parse, const char* allowed) {
  if (!r.expect_map(v, path)) return;
  r.check_unique_keys(v, path);
  for (const auto& kv : v) {
    if (!kv.first.IsScalar()) continue;
    std::string key = kv.first.Scalar();
    std::string p = child_path(path, key);
    auto mode = r.string(kv.second, p, kv.first);
    if (!mode) continue;
    auto value = parse(*mode);
    if (!value) {
      r.error(p, "invalid mode \"" + *mode + "\" (" + allowed + ")", kv.first, kv.second);
      continue;
    }
    out[header_names ? canonical_header_name(key) : lower(key)] = *value;
  }
}

std::optional<bool> keep_or_drop(const std::string& mode) {
  if (mode == "keep") return true;
  if (mode == "drop") return false;
  return std::nullopt;
}

std::optional<AccessLogConfig::HeaderMode> header_mode(const std::string& mode) {
  if (mode == "keep") return AccessLogConfig::HeaderMode::keep;
  if (mode == "drop") return AccessLogConfig::HeaderMode::drop;
  if (mode == "redact") return AccessLogConfig::HeaderMode::redact;
  return std::nullopt;
}

void read_filters(const Node& v, const std::string& path, YamlReader& r, AccessLogConfig& out) {
  if (!r.expect_map(v, path)) return;
  r.check_keys(v, path, {"statusCodes", "retryAttempts", "minDuration"});
  std::vector<std::string> codes;
  if (r.get(v, "statusCodes", path, codes)) {
    auto [k, cv] = YamlReader::find(v, "statusCodes");
    for (const auto& text : codes) {
      auto range = parse_status_range(text);
      if (!range) {
        r.error(child_path(path, "statusCodes"),
                "invalid status code range \"" + text + "\" (e.g. 200, 400-499)", k, cv);
        continue;
      }
      out.status_codes.push_back(*range);
    }
  }
  r.get(v, "retryAttempts", path, out.retry_attempts);
  std::chrono::milliseconds min{0};
  if (r.get(v, "minDuration", path, min)) out.min_duration = min;
}

void read_fields(const Node& v, const std::string& path, YamlReader& r, AccessLogConfig& out) {
  if (!r.expect_map(v, path)) return;
  r.check_keys(v, path, {"defaultMode", "names", "headers", "queryParameters"});
  auto [dk, dv] = YamlReader::find(v, "defaultMode");
  std::string mode;
  if (r.get(v, "defaultMode", path, mode)) {
    if (auto keep = keep_or_drop(mode))
      out.fields_keep_default = *keep;
    else
      r.error(child_path(path, "defaultMode"), "invalid mode \"" + mode + "\" (keep or drop)", dk, dv);
  }
  if (auto [nk, nv] = YamlReader::find(v, "names"); nk.IsDefined())
    read_modes(nv, child_path(path, "names"), r, false, out.field_names, keep_or_drop,
               "keep or drop");
  if (auto [hk, hv] = YamlReader::find(v, "headers"); hk.IsDefined()) {
    std::string hpath = child_path(path, "headers");
    if (r.expect_map(hv, hpath, hk)) {
      r.check_keys(hv, hpath, {"defaultMode", "names"});
      auto [mk, mv] = YamlReader::find(hv, "defaultMode");
      if (r.get(hv, "defaultMode", hpath, mode)) {
        if (auto m = header_mode(mode))
          out.headers_default = *m;
        else
          r.error(child_path(hpath, "defaultMode"),
                  "invalid mode \"" + mode + "\" (keep, drop or redact)", mk, mv);
      }
      if (auto [nk, nv] = YamlReader::find(hv, "names"); nk.IsDefined())
        read_modes(nv, child_path(hpath, "names"), r, true, out.header_names, header_mode,
                   "keep, drop or redact");
    }
  }
  if (auto [qk, qv] = YamlReader::find(v, "queryParameters"); qk.IsDefined()) {
    std::string qpath = child_path(path, "queryParameters");
    if (r.expect_map(qv, qpath, qk)) {
      r.check_keys(qv, qpath, {"defaultMode"});
      auto [mk, mv] = YamlReader::find(qv, "defaultMode");
      if (r.get(qv, "defaultMode", qpath, mode)) {
        if (auto keep = keep_or_drop(mode))
          out.keep_query = *keep;
        else
          r.error(child_path(qpath, "defaultMode"), "invalid mode \"" + mode + "\" (keep or drop)",
                  mk, mv);
      }
    }
  }
}

// A Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, "__" reserved) that is not one of the
// request series' own labels: Traefik would fail to serve any metric with either.
std::string header_label_problem(const std::string& label) {
  static const char* const kOwn[] = {"code", "method", "protocol", "entrypoint", "router", "service"};
  if (label.empty() || std::isdigit(static_cast<unsigned char>(label[0])) || label.starts_with("__"))
    return "invalid label name \"" + label + "\"";
  for (char c : label)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return "invalid label name \"" + label + "\"";
  for (const char* own : kOwn)
    if (label == own) return "label \"" + label + "\" is already a label of the request series";
  return {};
}


void read_header_labels(const Node& v, const std::string& path, YamlReader& r,
                        std::map<std::string, std::string>& out) {
  if (!r.expect_map(v, path)) return;
  r.check_unique_keys(v, path);
  for (const auto& kv : v) {
    if (!kv.first.IsScalar()) continue;
    std::string label = kv.first.Scalar();
    std::string p = child_path(path, label);
    auto header = r.string(kv.second, p, kv.first);
    if (!header) continue;
    if (std::string problem = header_label_problem(label); !problem.empty())
      r.error(p, problem, kv.first, kv.second);
    else if (!is_token(*header))
      r.error(p, "invalid header name \"" + *header + "\"", kv.first, kv.second);
    else
      out[label] = *header;
  }
}

}  // namespace

std::optional<std::pair<int, int>> parse_status_range(std::string_view text) {
  auto number = [](std::string_view s) -> std::optional<int> {
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return n;
  };
  size_t dash = text.find('-');
  auto low = number(text.substr(0, dash));
  auto high = dash == std::string_view::npos ? low : number(text.substr(dash + 1));
  if (!low || !high) return std::nullopt;
  return std::pair{*low, *high};
}

void read_access_log(const Node& v, YamlReader& r, AccessLogConfig& out) {
  const std::string path = "accessLog";
  r.check_keys(v, path,
               {"filePath", "format", "bufferingSize", "filters", "fields", "addInternals"},
               {{"otlp", ""}, {"dualOutput", ""}});
  out.enabled = true;
  r.get(v, "filePath", path, out.file_path);
  std::string format;
  if (r.get(v, "format", path, format)) {
    if (format == "common") {
      out.format = AccessLogConfig::Format::common;
    } else if (format == "genericCLF") {
      out.format = AccessLogConfig::Format::generic_clf;
    } else if (format == "json") {
      out.format = AccessLogConfig::Format::json;
    } else {
      auto [k, fv] = YamlReader::find(v, "format");
      r.error("accessLog.format",
              "invalid format \"" + format + "\" (common, genericCLF or json)", k, fv);
    }
  }
  if (auto [k, bv] = YamlReader::find(v, "bufferingSize"); k.IsDefined()) {
    if (auto n = r.integer(bv, "accessLog.bufferingSize", 0, 100000000, k)) out.buffering_size = *n;
  }
  if (auto [k, fv] = YamlReader::find(v, "filters"); k.IsDefined())
    read_filters(fv, "accessLog.filters", r, out);
  if (auto [k, fv] = YamlReader::find(v, "fields"); k.IsDefined())
    read_fields(fv, "accessLog.fields", r, out);
  r.get(v, "addInternals", path, out.add_internals);
}

void read_metrics(const Node& v, YamlReader& r, PrometheusConfig& out) {
  r.check_keys(v, "metrics", {"prometheus", "addInternals"},
               {{"datadog", "use metrics.prometheus"},
                {"statsD", "use metrics.prometheus"},
                {"influxDB2", "use metrics.prometheus"},
                {"otlp", "use metrics.prometheus"}});
  r.get(v, "addInternals", "metrics", out.add_internals);
  auto [k, pv] = YamlReader::find(v, "prometheus");
  if (!k.IsDefined()) return;
  const std::string path = "metrics.prometheus";
  if (!r.section(pv, path, k)) return;
  r.check_keys(pv, path,
               {"buckets", "addEntryPointsLabels", "addRoutersLabels", "addServicesLabels",
                "entryPoint", "manualRouting", "headerLabels"});
  out.enabled = true;
  if (auto [bk, bv] = YamlReader::find(pv, "buckets"); bk.IsDefined()) {
    std::vector<std::string> texts;
    if (r.get(pv, "buckets", path, texts)) {
      std::vector<double> buckets;
      for (const auto& t : texts) {
        char* end = nullptr;
        double d = std::strtod(t.c_str(), &end);
        if (t.empty() || *end != '\0' || !(d == d) || (!buckets.empty() && d <= buckets.back())) {
          r.error(child_path(path, "buckets"),
                  "invalid bucket \"" + t + "\" (increasing numbers of seconds)", bk, bv);
          buckets.clear();
          break;
        }
        buckets.push_back(d);
      }
      if (!buckets.empty()) out.buckets = std::move(buckets);
    }
  }
  r.get(pv, "addEntryPointsLabels", path, out.entry_points);
  r.get(pv, "addRoutersLabels", path, out.routers);
  r.get(pv, "addServicesLabels", path, out.services);
  r.get(pv, "entryPoint", path, out.entry_point);
  r.get(pv, "manualRouting", path, out.manual_routing);
  if (auto [hk, hv] = YamlReader::find(pv, "headerLabels"); hk.IsDefined())
    read_header_labels(hv, child_path(path, "headerLabels"), r, out.header_labels);
}

void read_ping(const Node& v, YamlReader& r, PingConfig& out) {
  const std::string path = "ping";
  r.check_keys(v, path, {"entryPoint", "manualRouting", "terminatingStatusCode"});
  out.enabled = true;
  r.get(v, "entryPoint", path, out.entry_point);
  r.get(v, "manualRouting", path, out.manual_routing);
  if (auto [k, sv] = YamlReader::find(v, "terminatingStatusCode"); k.IsDefined()) {
    if (auto n = r.integer(sv, "ping.terminatingStatusCode", 100, 599, k))
      out.terminating_status = static_cast<int>(*n);
  }
}

void read_api(const Node& v, YamlReader& r, ApiConfig& out) {
  const std::string path = "api";
  r.check_keys(v, path, {"dashboard", "insecure", "basePath", "disableDashboardAd", "dashboardName"},
               {{"debug", "portier has no pprof/expvar endpoints"}});
  out.enabled = true;
  r.get(v, "dashboard", path, out.dashboard);
  r.get(v, "insecure", path, out.insecure);
  bool no_ad = false;  // portier's dashboard shows no advertisement: nothing to turn off
  r.get(v, "disableDashboardAd", path, no_ad);
  r.get(v, "dashboardName", path, out.dashboard_name);
  std::string base = "/";
  if (r.get(v, "basePath", path, base) && base != "/") {
    auto [k, bv] = YamlReader::find(v, "basePath");
    r.error("api.basePath", "\"" + base + "\" is not supported: the API and dashboard are served under /", k, bv);
  }
}

void read_log(const Node& v, YamlReader& r, LogConfig& out) {
  r.check_keys(v, "log", {"level", "format", "filePath", "noColor"},
               {{"maxSize", "rotate with logrotate and SIGUSR1"},
                {"maxAge", "rotate with logrotate and SIGUSR1"},
                {"maxBackups", "rotate with logrotate and SIGUSR1"},
                {"compress", "rotate with logrotate and SIGUSR1"},
                {"otlp", ""}});
  std::string level = out.level;
  if (r.get(v, "level", "log", level)) {
    core::LogLevel parsed;
    if (!core::parse_log_level(level, parsed)) {
      auto [k, lv] = YamlReader::find(v, "level");
      r.error("log.level", "invalid level \"" + level + "\" (debug, info, warn, error)", k, lv);
    } else {
      out.level = lower(level);
    }
  }
  std::string format = out.format;
  if (r.get(v, "format", "log", format)) {
    if (format == "common") format = "text";
    if (format != "text" && format != "json") {
      auto [k, fv] = YamlReader::find(v, "format");
      r.error("log.format", "invalid format \"" + format + "\" (common or json)", k, fv);
    } else {
      out.format = format;
    }
  }
  r.get(v, "filePath", "log", out.file_path);
  bool no_color = false;  // portier never colours its lines: accepted, nothing to turn off
  r.get(v, "noColor", "log", no_color);
}

void apply_internal_entry_point(StaticConfig& c, core::Problems& problems) {
  const std::string internal = "traefik";
  bool wanted = (c.ping.enabled && c.ping.entry_point == internal) ||
                (c.prometheus.enabled && c.prometheus.entry_point == internal) ||
                (c.api.enabled && c.api.insecure);
  if (wanted && !c.entry_points.count(internal)) {
    EntryPoint ep;
    ep.name = internal;
    ep.address = ":8080";
    ep.hosts = {""};
    ep.port = 8080;
    c.entry_points[internal] = ep;
  }
  auto check = [&](bool enabled, const std::string& name, const char* path) {
    if (!enabled) return;
    auto it = c.entry_points.find(name);
    if (it == c.entry_points.end())
      problems.push_back({path, "entrypoint \"" + name + "\" does not exist", 0});
    else if (it->second.protocol != EntryPoint::Protocol::tcp)
      problems.push_back({path, "entrypoint \"" + name + "\" is a UDP entrypoint", 0});
  };
  check(c.ping.enabled, c.ping.entry_point, "ping.entryPoint");
  check(c.prometheus.enabled, c.prometheus.entry_point, "metrics.prometheus.entryPoint");
}

}  // namespace portier::config
