#pragma once
// What the data plane reports: the access log (format, writer), the Prometheus request
// metrics (one MetricsShard per worker, summed at scrape), and ping's state. Owned by the
// ProxyServer; shared read-only by the workers, each of which owns its WorkerObserver.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/static_config.hpp"
#include "proxy/access_log_format.hpp"
#include "proxy/access_log_writer.hpp"
#include "proxy/internal_api.hpp"
#include "proxy/prometheus_text.hpp"
#include "proxy/worker_observer.hpp"

namespace portier::proxy {

class Observability {
 public:
  // `entry_points`: the HTTP entrypoint names by index (http_entry_point_names).
  Observability(const config::StaticConfig& cfg, std::vector<std::string> entry_points,
                size_t workers);
  ~Observability();
  // Opens the access log (before the workers run): "" or why it cannot be opened.
  std::string open_access_log();

  const config::StaticConfig& config() const { return cfg_; }
  const AccessLogFormat* access_log() const { return format_.get(); }
  bool metrics_on() const { return cfg_.prometheus.enabled; }
  WorkerObserver& worker(size_t id) { return *workers_[id]; }
  AccessLogWriter* writer() { return writer_.get(); }

  // SIGUSR1: the access log file is reopened before the next write.
  void reopen_access_log() {
    if (writer_) writer_->reopen();
  }
  // After the workers stopped: writes every buffered line.
  void flush_stopped();

  // Any thread: the request families, traefik_open_connections and portier_access_log_*,
  // then the text last given to publish_extra() (the control thread's gauges).
  std::string render_metrics() const;
  void publish_extra(std::string text);
  // Any thread: requests counted so far by name (entrypoint, router or service), summed over
  // the workers; empty unless metrics.prometheus counts them.
  std::map<std::string, uint64_t> request_counts(MetricsShard::Kind kind) const;

  // api@internal's handler, published by the application's control thread.
  InternalApiSlot& api() { return api_; }
  const InternalApiSlot& api() const { return api_; }

  // Ping answers terminatingStatusCode once set (SIGTERM).
  void set_terminating() { terminating_.store(true, std::memory_order_relaxed); }
  int ping_status() const {
    return terminating_.load(std::memory_order_relaxed) ? cfg_.ping.terminating_status : 200;
  }

 private:
  void render_requests(PrometheusText& out) const;

  const config::StaticConfig& cfg_;
  std::vector<std::string> entry_points_;
  std::unique_ptr<AccessLogFormat> format_;
  std::unique_ptr<AccessLogWriter> writer_;
  std::vector<std::unique_ptr<WorkerObserver>> workers_;
  mutable std::mutex extra_mutex_;
  std::string extra_;
  std::atomic<bool> terminating_{false};
  InternalApiSlot api_;
};

}  // namespace portier::proxy
