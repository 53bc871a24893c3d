#include "proxy/observability.hpp"

#include <algorithm>
#include <map>

namespace portier::proxy {

namespace {

constexpr uint64_t kDefaultQueuedLines = 65536;

struct Totals {
  uint64_t requests = 0, request_bytes = 0, response_bytes = 0, duration_ns = 0;
  std::vector<uint64_t> buckets;
};

// One request family (entrypoint, router or service): Traefik's names, help and labels.
struct Family {
  const char* prefix;  // traefik_entrypoint_, traefik_router_, traefik_service_
  // Traefik's help texts: requests, TLS requests, duration, request bytes, response bytes.
  const char* help[5];
  std::map<std::string, Totals> series;      // rendered labels → totals
  std::map<std::string, uint64_t> tls;       // rendered TLS labels → requests
  std::map<std::string, uint64_t> by_headers;  // with headerLabels: labels → requests
};

std::string_view field(std::string_view s, size_t index) {
  for (size_t i = 0; i < index; ++i) {
    size_t sep = s.find('\x1f');
    if (sep == std::string_view::npos) return {};
    s.remove_prefix(sep + 1);
  }
  return s.substr(0, s.find('\x1f'));
}

std::string code_text(uint16_t code) { return std::to_string(code); }

// The labels of a series in client_golang's (sorted) order.
std::string series_labels(MetricsShard::Kind kind, const MetricsShard::Key& k) {
  using Kind = MetricsShard::Kind;
  std::string code = code_text(k.code);
  std::string_view method = method_label_text(k.method);
  std::string_view proto = protocol_label_text(k.protocol);
  switch (kind) {
    case Kind::entry_point:
      return render_labels({{"code", code}, {"entrypoint", k.name}, {"method", method}, {"protocol", proto}});
    case Kind::router:
      return render_labels({{"code", code}, {"method", method}, {"protocol", proto},
                            {"router", field(k.name, 0)}, {"service", field(k.name, 1)}});
    default:
      return render_labels({{"code", code}, {"method", method}, {"protocol", proto}, {"service", k.name}});
  }
}

// The labels of a headerLabels series: the family's own, then one per header label, in
// name order as client_golang writes them.
std::string header_series_labels(MetricsShard::Kind kind, const MetricsShard::Key& k,
                                 const std::map<std::string, std::string>& header_labels) {
  using Kind = MetricsShard::Kind;
  std::string code = code_text(k.code);
  Labels labels{{"code", code}, {"method", method_label_text(k.method)}, {"protocol", protocol_label_text(k.protocol)}};
  size_t values = 1;
  if (kind == Kind::entry_point_headers) {
    labels.emplace_back("entrypoint", field(k.name, 0));
  } else if (kind == Kind::router_headers) {
    labels.emplace_back("router", field(k.name, 0));
    labels.emplace_back("service", field(k.name, 1));
    values = 2;
  } else {
    labels.emplace_back("service", field(k.name, 0));
  }
  for (const auto& [label, header] : header_labels) labels.emplace_back(label, field(k.name, values++));
  std::sort(labels.begin(), labels.end());
  return render_labels(labels);
}

std::string tls_labels(MetricsShard::Kind kind, std::string_view name) {
  using Kind = MetricsShard::Kind;
  if (kind == Kind::router_tls)
    return render_labels({{"router", field(name, 0)}, {"service", field(name, 1)},
                          {"tls_cipher", field(name, 3)}, {"tls_version", field(name, 2)}});
  const char* label = kind == Kind::entry_point_tls ? "entrypoint" : "service";
  return render_labels({{label, field(name, 0)}, {"tls_cipher", field(name, 2)}, {"tls_version", field(name, 1)}});
}

std::string with_le(const std::string& labels, const std::string& le) {
  return labels + (labels.empty() ? "" : ",") + "le=\"" + le + "\"";
}

std::string bound_text(double b) {
  PrometheusText t;
  t.sample_raw("x", "", b);
  std::string s = t.take();
  return s.substr(2, s.size() - 3);
}

void render_family(PrometheusText& out, const Family& f, const std::vector<double>& buckets) {
  std::string p = f.prefix;
  if (f.series.empty()) return;  // client_golang writes no family without a series
  out.family(p + "requests_total", "counter", f.help[0]);
  if (!f.by_headers.empty()) {
    for (const auto& [labels, n] : f.by_headers) out.sample_raw(p + "requests_total", labels, static_cast<double>(n));
  } else {
    for (const auto& [labels, t] : f.series) out.sample_raw(p + "requests_total", labels, static_cast<double>(t.requests));
  }
  if (!f.tls.empty())
    out.family(p + "requests_tls_total", "counter", f.help[1]);
  for (const auto& [labels, n] : f.tls) out.sample_raw(p + "requests_tls_total", labels, static_cast<double>(n));
  std::string h = p + "request_duration_seconds";
  out.family(h, "histogram", f.help[2]);
  for (const auto& [labels, t] : f.series) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < buckets.size(); ++b) {
      cumulative += t.buckets[b];
      out.sample_raw(h + "_bucket", with_le(labels, bound_text(buckets[b])), static_cast<double>(cumulative));
    }
    out.sample_raw(h + "_bucket", with_le(labels, "+Inf"), static_cast<double>(t.requests));
    out.sample_raw(h + "_sum", labels, static_cast<double>(t.duration_ns) / 1e9);
    out.sample_raw(h + "_count", labels, static_cast<double>(t.requests));
  }
  out.family(p + "requests_bytes_total", "counter", f.help[3]);
  for (const auto& [labels, t] : f.series)
    out.sample_raw(p + "requests_bytes_total", labels, static_cast<double>(t.request_bytes));
  out.family(p + "responses_bytes_total", "counter", f.help[4]);
  for (const auto& [labels, t] : f.series)
    out.sample_raw(p + "responses_bytes_total", labels, static_cast<double>(t.response_bytes));
}

}  // namespace

Observability::Observability(const config::StaticConfig& cfg, std::vector<std::string> entry_points,
                             size_t workers)
    : cfg_(cfg), entry_points_(std::move(entry_points)) {
  if (cfg.access_log.enabled) format_ = std::make_unique<AccessLogFormat>(cfg.access_log);
  for (size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<WorkerObserver>(*this, i, workers));
}

Observability::~Observability() = default;

std::string Observability::open_access_log() {
  if (!format_ || writer_) return {};
  uint64_t bound = cfg_.access_log.buffering_size > 0
                       ? static_cast<uint64_t>(cfg_.access_log.buffering_size)
                       : kDefaultQueuedLines;
  std::string error;
  auto writer = std::make_unique<AccessLogWriter>(cfg_.access_log.file_path, bound, &error);
  if (!error.empty()) return error;
  writer_ = std::move(writer);
  return {};
}

void Observability::flush_stopped() {
  for (auto& w : workers_) w->flush();
  if (writer_) writer_->flush();
}

void Observability::publish_extra(std::string text) {
  std::lock_guard lock(extra_mutex_);
  extra_ = std::move(text);
}

std::string Observability::render_metrics() const {
  PrometheusText out;
  render_requests(out);
  out.family("traefik_open_connections", "gauge", "How many open connections exist, by entryPoint and protocol");
  for (size_t e = 0; e < entry_points_.size(); ++e) {
    int64_t open = 0;
    for (const auto& w : workers_) open += w->metrics().open_connections(e);
    out.sample("traefik_open_connections", {{"entrypoint", entry_points_[e]}, {"protocol", "TCP"}},
               static_cast<double>(open));
  }
  if (format_) {
    uint64_t dropped = 0;
    for (const auto& w : workers_) dropped += w->dropped_lines();
    out.family("portier_access_log_dropped_lines_total", "counter",
               "Access log lines dropped because the writer fell behind.");
    out.sample("portier_access_log_dropped_lines_total", {}, static_cast<double>(dropped));
  }
  std::string text = out.take();
  std::lock_guard lock(extra_mutex_);
  return text + extra_;
}

std::map<std::string, uint64_t> Observability::request_counts(MetricsShard::Kind kind) const {
  std::map<std::string, uint64_t> out;
  for (const auto& w : workers_) {
    w->metrics().visit([&](const MetricsShard::Key& k, const MetricsShard::Series& s) {
      if (k.kind != kind) return;
      std::string_view name = k.name;
      name = name.substr(0, name.find('\x1f'));  // a router's "router\x1fservice"
      out[std::string(name)] += s.requests.get();
    });
  }
  return out;
}

void Observability::render_requests(PrometheusText& out) const {
  using Kind = MetricsShard::Kind;
  const auto& buckets = cfg_.prometheus.buckets;
  Family families[3] = {
      {"traefik_entrypoint_",
       {"How many HTTP requests processed on an entrypoint, partitioned by status code, protocol, and method.",
        "How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.",
        "How long it took to process the request on an entrypoint, partitioned by status code, protocol, and method.",
        "The total size of requests in bytes handled by an entrypoint, partitioned by status code, protocol, and method.",
        "The total size of responses in bytes handled by an entrypoint, partitioned by status code, protocol, and method."},
       {}, {}, {}},
      {"traefik_router_",
       {"How many HTTP requests are processed on a router, partitioned by service, status code, protocol, and method.",
        "How many HTTP requests with TLS are processed on a router, partitioned by service, TLS Version, and TLS cipher Used.",
        "How long it took to process the request on a router, partitioned by service, status code, protocol, and method.",
        "The total size of requests in bytes handled by a router, partitioned by service, status code, protocol, and method.",
        "The total size of responses in bytes handled by a router, partitioned by service, status code, protocol, and method."},
       {}, {}, {}},
      {"traefik_service_",
       {"How many HTTP requests processed on a service, partitioned by status code, protocol, and method.",
        "How many HTTP requests with TLS processed on a service, partitioned by TLS version and TLS cipher.",
        "How long it took to process the request on a service, partitioned by status code, protocol, and method.",
        "The total size of requests in bytes received by a service, partitioned by status code, protocol, and method.",
        "The total size of responses in bytes returned by a service, partitioned by status code, protocol, and method."},
       {}, {}, {}}};
  std::map<std::string, uint64_t> retries;  // by service
  for (const auto& w : workers_) {
    w->metrics().visit([&](const MetricsShard::Key& k, const MetricsShard::Series& s) {
      size_t kind = static_cast<size_t>(k.kind);
      if (kind >= 6) {
        families[kind - 6].by_headers[header_series_labels(k.kind, k, cfg_.prometheus.header_labels)] += s.requests.get();
        return;
      }
      if (kind >= 3) {
        families[kind - 3].tls[tls_labels(k.kind, k.name)] += s.requests.get();
        return;
      }
      Totals& t = families[kind].series[series_labels(k.kind, k)];
      if (t.buckets.empty()) t.buckets.assign(buckets.size() + 1, 0);
      t.requests += s.requests.get();
      t.request_bytes += s.request_bytes.get();
      t.response_bytes += s.response_bytes.get();
      t.duration_ns += s.duration_ns.get();
      for (size_t b = 0; b <= buckets.size(); ++b) t.buckets[b] += s.buckets[b].get();
      if (uint64_t n = s.retries.get()) retries[render_labels({{"service", k.name}})] += n;
    });
  }
  const auto& p = cfg_.prometheus;
  if (p.entry_points) render_family(out, families[static_cast<size_t>(Kind::entry_point)], buckets);
  if (p.routers) render_family(out, families[static_cast<size_t>(Kind::router)], buckets);
  if (!p.services) return;
  render_family(out, families[static_cast<size_t>(Kind::service)], buckets);
  if (retries.empty()) return;
  out.family("traefik_service_retries_total", "counter", "How many request retries happened on a service.");
  for (const auto& [labels, n] : retries)
    out.sample_raw("traefik_service_retries_total", labels, static_cast<double>(n));
}

}  // namespace portier::proxy
