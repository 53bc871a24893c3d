#include "proxy/metrics_shard.hpp"

#include <functional>

namespace portier::proxy {

MetricsShard::MetricsShard(std::vector<double> buckets, size_t entry_points)
    : buckets_(std::move(buckets)), open_(entry_points) {
  for (double b : buckets_) bucket_ns_.push_back(static_cast<int64_t>(b * 1e9));
}

size_t MetricsShard::Hash::operator()(const KeyView& k) const {
  size_t h = std::hash<std::string_view>{}(k.name);
  size_t small = static_cast<size_t>(k.kind) | static_cast<size_t>(k.code) << 8 |
                 static_cast<size_t>(k.method) << 24 | static_cast<size_t>(k.protocol) << 32;
  return h ^ (small * 0x9e3779b97f4a7c15ULL);
}

MetricsShard::Series& MetricsShard::series(const KeyView& key) {
  Last& last = last_[static_cast<size_t>(key.kind)];
  if (last.series && last.code == key.code && last.method == key.method &&
      last.protocol == key.protocol && last.name == key.name)
    return *last.series;
  Series* found;
  auto it = series_.find(key);
  if (it != series_.end()) {
    found = it->second.get();
  } else {
    std::lock_guard lock(mutex_);
    Key owned{key.kind, key.code, key.method, key.protocol, std::string(key.name)};
    found = series_.emplace(std::move(owned), std::make_unique<Series>(buckets_.size())).first->second.get();
  }
  last.code = key.code;
  last.method = key.method;
  last.protocol = key.protocol;
  last.name.assign(key.name);
  last.series = found;
  return *found;
}

void MetricsShard::count(Kind kind, std::string_view name, const RequestRecord& r) {
  Series& s = series({kind, static_cast<uint16_t>(r.status), r.method_label, r.protocol, name});
  s.requests.add(1);
  s.request_bytes.add(r.request_bytes);
  s.response_bytes.add(r.response_bytes);
  s.duration_ns.add(static_cast<uint64_t>(r.duration.count()));
  if (r.retries > 0) s.retries.add(static_cast<uint64_t>(r.retries));
  size_t b = 0;
  while (b < bucket_ns_.size() && r.duration.count() > bucket_ns_[b]) ++b;
  s.buckets[b].add(1);
}

void MetricsShard::count_tls(Kind kind, std::string_view name, const RequestRecord& r) {
  scratch_.assign(name).append(1, '\x1f').append(r.tls_version).append(1, '\x1f').append(r.tls_cipher);
  series({kind, 0, MethodLabel::GET, ProtocolLabel::http, scratch_}).requests.add(1);
}

void MetricsShard::count_header_labels(Kind kind, std::string_view name, const RequestRecord& r) {
  scratch_.assign(name).append(1, '\x1f').append(r.header_values);
  series({kind, static_cast<uint16_t>(r.status), r.method_label, r.protocol, scratch_}).requests.add(1);
}

}  // namespace portier::proxy
