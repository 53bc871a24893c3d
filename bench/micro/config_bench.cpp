// The control thread's reload path for one file of N routers: the YAML parse (file provider)
// and the merge of the providers' fragments (app rebuild), as bench.py's snapshot scenario
// feeds them.
#include <benchmark/benchmark.h>

#include <string>

#include "config/dynamic_merge.hpp"
#include "config/dynamic_yaml.hpp"
#include "config/rule.hpp"

using namespace portier;

namespace {

// The text bench/lib/scenarios.py _routers_yaml writes: N Host-only routers, one service each.
std::string routers_yaml(int n) {
  std::string s = "http:\n  routers:\n";
  for (int i = 0; i < n; ++i) {
    const std::string k = std::to_string(i);
    s += "    r" + k + ":\n      rule: \"Host(`s" + k + ".bench.local`)\"\n";
    s += "      entryPoints: [web]\n      service: s" + k + "\n";
  }
  s += "  services:\n";
  for (int i = 0; i < n; ++i)
    s += "    s" + std::to_string(i) +
         ":\n      loadBalancer:\n        servers:\n          - url: \"http://127.0.0.1:9\"\n";
  return s;
}

void BM_ParseDynamicYaml(benchmark::State& state) {
  const std::string text = routers_yaml(static_cast<int>(state.range(0)));
  size_t routers = 0;
  for (auto _ : state) {
    config::Fragment f = config::parse_dynamic_yaml(text, "/etc/portier/dynamic.yml");
    routers = f.dynamic.http.routers.size();
    benchmark::DoNotOptimize(f);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["routers"] = double(routers);
}
BENCHMARK(BM_ParseDynamicYaml)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_MergeProviders(benchmark::State& state) {
  const config::Fragment f = config::parse_dynamic_yaml(
      routers_yaml(static_cast<int>(state.range(0))), "/etc/portier/dynamic.yml");
  const std::map<std::string, const config::Fragment*> inputs = {{"file", &f}};
  const std::set<std::string> entry_points = {"web"};
  auto check = [](std::string_view rule, bool tcp) {
    return config::parse_rule(rule, tcp ? config::RuleKind::tcp : config::RuleKind::http).error;
  };
  size_t routers = 0;
  for (auto _ : state) {
    config::Merged m = config::merge_providers(inputs, check, entry_points);
    routers = m.dynamic.http.routers.size();
    benchmark::DoNotOptimize(m);
  }
  state.counters["routers"] = double(routers);
}
BENCHMARK(BM_MergeProviders)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
