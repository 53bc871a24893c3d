#include "proxy/worker_observer.hpp"

#include "proxy/access_log_format.hpp"
#include "proxy/observability.hpp"
#include "proxy/request_observation.hpp"

namespace portier::proxy {

namespace {
// A batch's size: the writer's write(2) into the page cache costs less per byte in larger
// writes, and the writer wakes less often (bench/run.sh --observe, bench/RESULTS.md).
constexpr size_t kFlushBytes = 256 * 1024;
}

WorkerObserver::WorkerObserver(Observability& shared, size_t id, size_t workers)
    : shared_(shared),
      format_(shared.access_log()),
      active_(shared.access_log() != nullptr || shared.metrics_on()),
      shard_(shared.config().prometheus.buckets, shared.config().entry_points.size()),
      next_count_(id + 1),
      stride_(workers) {}

WorkerObserver::~WorkerObserver() = default;

ObservationState* WorkerObserver::acquire() {
  if (spare_.empty()) return new ObservationState();
  ObservationState* s = spare_.back().release();
  spare_.pop_back();
  return s;
}

void WorkerObserver::release(ObservationState* state) {
  state->reset();
  spare_.emplace_back(state);
}

std::chrono::system_clock::time_point WorkerObserver::wall_time(std::chrono::steady_clock::time_point t) {
  using namespace std::chrono;
  if (offset_taken_ == steady_clock::time_point{} || t - offset_taken_ >= seconds(1)) {
    offset_taken_ = steady_clock::now();
    wall_offset_ = system_clock::now().time_since_epoch() - offset_taken_.time_since_epoch();
  }
  return system_clock::time_point(duration_cast<system_clock::duration>(t.time_since_epoch() + wall_offset_));
}

void WorkerObserver::record(const RequestRecord& r) {
  const auto& cfg = shared_.config();
  if (shared_.metrics_on() && (!r.internal || cfg.prometheus.add_internals)) count(r);
  uint64_t number = next_count_;
  next_count_ += stride_;
  if (!format_ || (r.internal && !cfg.access_log.add_internals) || !format_->keep(r)) return;
  format_->append(r, number, pending_);
  ++pending_lines_;
  if (pending_.size() >= kFlushBytes) {
    flush();
  } else if (!flush_armed_ && flush_timer_) {
    flush_armed_ = true;
    flush_timer_->expires_after(kFlushDelay);
    flush_timer_->async_wait([this](const error_code& ec) {
      flush_armed_ = false;
      if (!ec) flush();
    });
  }
}

void WorkerObserver::flush() {
  if (pending_lines_ == 0) return;
  AccessLogWriter* writer = shared_.writer();
  uint64_t lines = pending_lines_;
  pending_lines_ = 0;
  LogBuffer batch = std::move(pending_);  // leaves pending_ empty, without storage
  if (!writer || !writer->submit(std::move(batch), lines, &pending_)) dropped_.add(lines);
  if (pending_.capacity() < kFlushBytes) pending_.reserve(kFlushBytes + 4096);
}

void WorkerObserver::count(const RequestRecord& r) {
  using Kind = MetricsShard::Kind;
  const auto& p = shared_.config().prometheus;
  if (p.entry_points) {
    shard_.count(Kind::entry_point, r.entry_point, r);
    if (r.tls) shard_.count_tls(Kind::entry_point_tls, r.entry_point, r);
  }
  if (p.routers && !r.router.empty()) {
    scratch_.assign(r.router).append(1, '\x1f').append(r.service);
    shard_.count(Kind::router, scratch_, r);
    if (r.tls) shard_.count_tls(Kind::router_tls, scratch_, r);
  }
  if (p.services && r.served) {
    shard_.count(Kind::service, r.service, r);
    if (r.tls) shard_.count_tls(Kind::service_tls, r.service, r);
  }
  if (p.header_labels.empty()) return;
  if (p.entry_points) shard_.count_header_labels(Kind::entry_point_headers, r.entry_point, r);
  if (p.routers && !r.router.empty()) shard_.count_header_labels(Kind::router_headers, scratch_, r);
  if (p.services && r.served) shard_.count_header_labels(Kind::service_headers, r.service, r);
}

}  // namespace portier::proxy
