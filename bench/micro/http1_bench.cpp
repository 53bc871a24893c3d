// HTTP/1.1 request head parsing and upstream head building for a typical browser request.
#include <benchmark/benchmark.h>

#include "bench/micro/fixtures.hpp"
#include "proxy/forwarding.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/runtime_config.hpp"

using namespace portier;

namespace {

void BM_ParseBrowserRequest(benchmark::State& state) {
  proxy::HttpLimits limits;
  proxy::RequestHead head;
  for (auto _ : state) {
    head.headers.clear();  // the session reuses one RequestHead per connection
    auto r = proxy::parse_request_head(bench::kBrowserRequest, limits, head);
    benchmark::DoNotOptimize(r);
  }
  if (proxy::parse_request_head(bench::kBrowserRequest, limits, head).status !=
      proxy::ParseStatus::complete)
    state.SkipWithError("request did not parse");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bench::kBrowserRequest.size()));
}
BENCHMARK(BM_ParseBrowserRequest);

void BM_BuildUpstreamHead(benchmark::State& state) {
  proxy::HttpLimits limits;
  proxy::RequestHead head;
  if (proxy::parse_request_head(bench::kBrowserRequest, limits, head).status !=
      proxy::ParseStatus::complete) {
    state.SkipWithError("request did not parse");
    return;
  }
  auto cfg = bench::one_entry_point();
  proxy::HealthRegistry health;
  std::vector<std::string> problems;
  auto rc = proxy::compile_runtime(bench::host_routers(1), cfg, health, &problems);
  const auto& svc = rc->services.at(0);
  proxy::ClientInfo client;
  client.ip = "192.0.2.10";
  client.address = boost::asio::ip::make_address("192.0.2.10");
  for (auto _ : state) {
    auto out = proxy::build_upstream_head(head, svc, svc.servers.at(0), client);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_BuildUpstreamHead);

}  // namespace
