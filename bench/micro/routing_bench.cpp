// Rule matching: the router's lookup for one request (RuntimeConfig::route), and one
// compiled rule evaluated alone.
#include <benchmark/benchmark.h>

#include "bench/micro/fixtures.hpp"
#include "config/rule.hpp"
#include "proxy/runtime_config.hpp"

using namespace portier;

namespace {

proxy::RequestView request(std::string_view host, std::string_view path) {
  proxy::RequestView v;
  v.method = "GET";
  v.host = host;
  v.path = path;
  v.client_ip = boost::asio::ip::make_address("192.0.2.10");
  return v;
}

// Host-only rule among 10,000: a hash lookup, no rule evaluation.
void BM_RouteHostAmong10k(benchmark::State& state) {
  auto cfg = bench::one_entry_point();
  proxy::HealthRegistry health;
  std::vector<std::string> problems;
  auto rc = proxy::compile_runtime(bench::host_routers(10000), cfg, health, &problems);
  auto req = request("s9999.bench.local", "/");
  for (auto _ : state) {
    auto* r = rc->route(0, false, req);
    benchmark::DoNotOptimize(r);
  }
  if (!rc->route(0, false, req)) state.SkipWithError("no route matched");
}
BENCHMARK(BM_RouteHostAmong10k);

constexpr const char* kComplexRule =
    "Host(`api.bench.local`) && PathPrefix(`/v2/`) && Header(`X-Tenant`, `acme`) && "
    "(PathRegexp(`^/v2/users/[0-9]+/orders$`) || Method(`POST`))";

std::vector<proxy::Header> complex_headers() {
  return {{"User-Agent", "curl/7.88.1"}, {"Accept", "*/*"}, {"X-Tenant", "acme"},
          {"X-Request-Id", "0f1e2d3c"}};
}

// A complex rule evaluated alone (compiled branch program, RE2 for the regex).
void BM_MatchComplexRule(benchmark::State& state) {
  auto parsed = config::parse_rule(kComplexRule, config::RuleKind::http);
  if (!parsed.root) {
    state.SkipWithError(("rule does not parse: " + parsed.error).c_str());
    return;
  }
  std::string error;
  auto m = proxy::compile_http_rule(*parsed.root, &error);
  if (!m) {
    state.SkipWithError(("rule does not compile: " + error).c_str());
    return;
  }
  auto headers = complex_headers();
  auto req = request("api.bench.local", "/v2/users/42/orders");
  req.headers = headers;
  for (auto _ : state) benchmark::DoNotOptimize(m->match(req));
  if (!m->match(req)) state.SkipWithError("rule did not match");
}
BENCHMARK(BM_MatchComplexRule);

// The complex rule behind 10,000 Host-only routers (it lives in the general list).
void BM_RouteComplexAmong10k(benchmark::State& state) {
  auto cfg = bench::one_entry_point();
  auto dyn = bench::host_routers(10000);
  bench::add_router(dyn, "complex", kComplexRule, "http://127.0.0.1:9000");
  proxy::HealthRegistry health;
  std::vector<std::string> problems;
  auto rc = proxy::compile_runtime(dyn, cfg, health, &problems);
  if (!problems.empty()) {
    state.SkipWithError(problems.front().c_str());
    return;
  }
  auto headers = complex_headers();
  auto req = request("api.bench.local", "/v2/users/42/orders");
  req.headers = headers;
  for (auto _ : state) benchmark::DoNotOptimize(rc->route(0, false, req));
  auto* r = rc->route(0, false, req);
  if (!r || r->name.find("complex") == std::string::npos) state.SkipWithError("wrong route");
}
BENCHMARK(BM_RouteComplexAmong10k);

}  // namespace
