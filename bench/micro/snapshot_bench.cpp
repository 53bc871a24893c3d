// Snapshot pinning on the hot path (core::Snapshot::Reader::get), and the control thread's
// compile_runtime of 10,000 routers (the part of a reload that grows with the config).
#include <benchmark/benchmark.h>

#include "bench/micro/fixtures.hpp"
#include "core/snapshot.hpp"
#include "proxy/runtime_config.hpp"

using namespace portier;

namespace {

// What a request does per lookup: one generation load, the cached pointer when unchanged.
void BM_SnapshotReaderGet(benchmark::State& state) {
  core::Snapshot<proxy::RuntimeConfig> snap;
  snap.publish(std::make_shared<proxy::RuntimeConfig>());
  core::Snapshot<proxy::RuntimeConfig>::Reader reader(snap);
  for (auto _ : state) benchmark::DoNotOptimize(reader.get().get());
}
BENCHMARK(BM_SnapshotReaderGet);

// Pinning for a request's lifetime: copy the shared_ptr (atomic increment + decrement).
void BM_SnapshotPinCopy(benchmark::State& state) {
  core::Snapshot<proxy::RuntimeConfig> snap;
  snap.publish(std::make_shared<proxy::RuntimeConfig>());
  core::Snapshot<proxy::RuntimeConfig>::Reader reader(snap);
  for (auto _ : state) {
    auto pinned = reader.get();
    benchmark::DoNotOptimize(pinned.get());
  }
}
BENCHMARK(BM_SnapshotPinCopy);

// After a publish: the first get() per worker takes the mutex and refreshes its cache.
void BM_SnapshotReaderAfterPublish(benchmark::State& state) {
  core::Snapshot<proxy::RuntimeConfig> snap;
  auto value = std::make_shared<proxy::RuntimeConfig>();
  core::Snapshot<proxy::RuntimeConfig>::Reader reader(snap);
  for (auto _ : state) {
    snap.publish(value);
    benchmark::DoNotOptimize(reader.get().get());
  }
}
BENCHMARK(BM_SnapshotReaderAfterPublish);

void BM_CompileRuntime(benchmark::State& state) {
  auto cfg = bench::one_entry_point();
  auto dyn = bench::host_routers(static_cast<int>(state.range(0)));
  proxy::HealthRegistry health;
  size_t routes = 0;
  for (auto _ : state) {
    std::vector<std::string> problems;
    auto rc = proxy::compile_runtime(dyn, cfg, health, &problems);
    routes = rc->routes.size();
    benchmark::DoNotOptimize(rc.get());
  }
  if (routes != size_t(state.range(0))) state.SkipWithError("not every router compiled");
  state.counters["routers"] = double(routes);
}
BENCHMARK(BM_CompileRuntime)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

namespace {

// A reload where one router's rule changed: compile_runtime with the CompileCache the
// application keeps, so only the changed rule is compiled again.
void BM_CompileRuntimeOneChanged(benchmark::State& state) {
  auto cfg = bench::one_entry_point();
  auto dyn = bench::host_routers(static_cast<int>(state.range(0)));
  proxy::HealthRegistry health;
  proxy::CompileCache cache;
  std::vector<std::string> problems;
  proxy::compile_runtime(dyn, cfg, health, &problems, &cache);
  size_t routes = 0;
  int k = 0;
  for (auto _ : state) {
    dyn.http.routers["r1"].rule = "Host(`new" + std::to_string(++k) + ".bench.local`)";
    problems.clear();
    auto rc = proxy::compile_runtime(dyn, cfg, health, &problems, &cache);
    routes = rc->routes.size();
    benchmark::DoNotOptimize(rc.get());
  }
  if (routes != size_t(state.range(0))) state.SkipWithError("not every router compiled");
  state.counters["routers"] = double(routes);
}
BENCHMARK(BM_CompileRuntimeOneChanged)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
