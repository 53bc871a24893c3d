#pragma once
// A worker's side of the observability: its metrics shard and its access log buffer. Worker
// thread only, except what MetricsShard and the counters say. Lines are formatted on the
// worker into a buffer that goes to the AccessLogWriter when it holds 256 KiB or kFlushDelay
// after its first line (a timer; nginx's `access_log ... buffer= flush=` does the same): the
// writer thread wakes and writes once per batch, not once per round of ready handlers. A full
// writer queue drops the batch and counts it (portier_access_log_dropped_lines_total): a
// request never waits for the disk.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/log_buffer.hpp"
#include "proxy/metrics_shard.hpp"
#include "proxy/request_record.hpp"

namespace portier::proxy {

class Observability;
class AccessLogFormat;
struct ObservationState;

class WorkerObserver {
 public:
  WorkerObserver(Observability& shared, size_t id, size_t workers);
  ~WorkerObserver();
  // How long a line may wait in the worker's buffer.
  static constexpr std::chrono::milliseconds kFlushDelay{20};

  // Before the worker runs: the flush timer runs on `io`. detach() before `io` is destroyed.
  void attach(asio::io_context& io) { flush_timer_.emplace(io); }
  void detach() { flush_timer_.reset(); }

  // Whether requests are observed at all / captured for the access log.
  bool active() const { return active_; }
  const AccessLogFormat* access_log() const { return format_; }
  const Observability& shared() const { return shared_; }

  // The wall-clock time of steady time `t` (a request's start, already read), from an offset
  // between the two clocks taken at most a second before: one clock read per request instead
  // of two. A step of the wall clock shows in the lines within a second.
  std::chrono::system_clock::time_point wall_time(std::chrono::steady_clock::time_point t);
  // The end of one request (RequestObservation).
  void record(const RequestRecord& r);
  // A request's observation state from the worker's pool, and back (worker thread).
  ObservationState* acquire();
  void release(ObservationState* state);
  // Hands the buffered lines to the writer. Worker thread, or any thread once it stopped.
  void flush();

  MetricsShard& metrics() { return shard_; }
  const MetricsShard& metrics() const { return shard_; }
  uint64_t dropped_lines() const { return dropped_.get(); }

 private:
  void count(const RequestRecord& r);

  Observability& shared_;
  const AccessLogFormat* format_;
  bool active_;
  MetricsShard shard_;
  std::optional<asio::steady_timer> flush_timer_;
  LogBuffer pending_;
  uint64_t pending_lines_ = 0;
  bool flush_armed_ = false;
  std::chrono::steady_clock::time_point offset_taken_{};  // wall_time()'s offset
  std::chrono::nanoseconds wall_offset_{0};
  uint64_t next_count_;  // Traefik's RequestCount: worker i numbers i+1, i+1+N, ...
  uint64_t stride_;
  OwnedCounter dropped_;
  std::string scratch_;
  std::vector<std::unique_ptr<ObservationState>> spare_;  // pool for acquire()
};

}  // namespace portier::proxy
