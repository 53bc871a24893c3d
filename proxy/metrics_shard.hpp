#pragma once
// One worker's request counters for the Prometheus metrics (Traefik's families, by entrypoint,
// router and service). Written by its worker only, with relaxed loads and stores (no
// read-modify-write, nothing shared with other workers); read by a scrape on any thread, which
// sums the shards. A series is created by its worker under the shard's mutex, which a scrape
// takes to walk the series: the worker's lookups need no lock (only it inserts).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/request_record.hpp"

namespace portier::proxy {

// A counter only its owner writes: relaxed load + store, read anywhere.
class OwnedCounter {
 public:
  void add(uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class MetricsShard {
 public:
  // The request families, their TLS families, and their requests_total by headerLabels
  // (name: the family's name, '\x1f', RequestRecord::header_values).
  enum class Kind : uint8_t {
    entry_point, router, service, entry_point_tls, router_tls, service_tls,
    entry_point_headers, router_headers, service_headers
  };
  static constexpr size_t kKinds = 9;
  struct Key {
    Kind kind;
    uint16_t code;  // 0 for the TLS families
    MethodLabel method;
    ProtocolLabel protocol;
    std::string name;  // entrypoint, "router\x1fservice", service; TLS: name\x1fversion\x1fcipher
  };
  struct Series {
    explicit Series(size_t buckets) : buckets(std::make_unique<OwnedCounter[]>(buckets + 1)) {}
    OwnedCounter requests, request_bytes, response_bytes, duration_ns;
    OwnedCounter retries;  // service series: the retry middleware's retries
    std::unique_ptr<OwnedCounter[]> buckets;  // per bucket (not cumulative), then +Inf
  };

  // `buckets`: upper bounds in seconds, increasing; `entry_points`: how many HTTP entrypoints.
  MetricsShard(std::vector<double> buckets, size_t entry_points);

  // Worker thread: counts `r` in the families of `kind` under `name`.
  void count(Kind kind, std::string_view name, const RequestRecord& r);
  // Worker thread: one TLS request.
  void count_tls(Kind kind, std::string_view name, const RequestRecord& r);
  // Worker thread: one request in the headerLabels series of `kind` (a *_headers kind).
  void count_header_labels(Kind kind, std::string_view name, const RequestRecord& r);
  // Worker thread: a connection opened (+1) or closed (-1) on HTTP entrypoint `entry`.
  void connections(size_t entry, int delta) {
    if (entry < open_.size()) open_[entry].store(open_[entry].load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  int64_t open_connections(size_t entry) const { return open_[entry].load(std::memory_order_relaxed); }

  // Any thread: f(const Key&, const Series&) for every series.
  template <class F>
  void visit(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [key, series] : series_) f(key, *series);
  }
  const std::vector<double>& buckets() const { return buckets_; }

 private:
  struct KeyView {
    Kind kind;
    uint16_t code;
    MethodLabel method;
    ProtocolLabel protocol;
    std::string_view name;
  };
  static KeyView view(const Key& k) { return {k.kind, k.code, k.method, k.protocol, k.name}; }
  struct Hash {
    using is_transparent = void;
    size_t operator()(const KeyView& k) const;
    size_t operator()(const Key& k) const { return (*this)(view(k)); }
  };
  struct Equal {
    using is_transparent = void;
    static bool same(const KeyView& a, const KeyView& b) {
      return a.kind == b.kind && a.code == b.code && a.method == b.method &&
             a.protocol == b.protocol && a.name == b.name;
    }
    bool operator()(const Key& a, const Key& b) const { return same(view(a), view(b)); }
    bool operator()(const KeyView& a, const Key& b) const { return same(a, view(b)); }
    bool operator()(const Key& a, const KeyView& b) const { return same(view(a), b); }
  };
  Series& series(const KeyView& key);
  // The last series of each kind: consecutive requests of a busy worker mostly hit the same
  // one, which a compare finds faster than a hash lookup.
  struct Last {
    Kind kind{};
    uint16_t code = 0;
    MethodLabel method{};
    ProtocolLabel protocol{};
    std::string name;
    Series* series = nullptr;
  };
  Last last_[kKinds];

  std::vector<double> buckets_;
  std::vector<int64_t> bucket_ns_;  // the bounds in nanoseconds (Prometheus: value <= bound)
  std::vector<std::atomic<int64_t>> open_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, std::unique_ptr<Series>, Hash, Equal> series_;
  std::string scratch_;  // worker thread: composite names without an allocation per request
};

}  // namespace portier::proxy
