#include "proxy/health_checker.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/log.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/io_buffer.hpp"
#include "proxy/upstream_conn.hpp"

namespace portier::proxy {

void HealthChecker::update(std::shared_ptr<const RuntimeConfig> rc) {
  if (stopped_) return;
  uint64_t gen = ++generation_;
  for (auto& g : probes_) g.cancel();
  std::erase_if(probes_, [](const core::TaskGroup& g) { return g.empty(); });
  auto& group = probes_.emplace_back(io_.get_executor(), "health check");
  for (size_t i = 0; i < rc->services.size(); ++i) {
    if (!rc->services[i].health_check) {
      for (const auto& s : rc->services[i].servers) s.health->healthy.store(true);
      continue;
    }
    for (size_t k = 0; k < rc->services[i].servers.size(); ++k)
      group.spawn(probe_loop(rc, i, k, gen), "probe of " + rc->services[i].servers[k].url);
  }
}

void HealthChecker::stop() {
  stopped_ = true;
  ++generation_;
  for (auto& g : probes_) g.cancel();
}

bool HealthChecker::idle() const {
  return std::all_of(probes_.begin(), probes_.end(), [](const core::TaskGroup& g) { return g.empty(); });
}

awaitable<void> HealthChecker::probe_loop(std::shared_ptr<const RuntimeConfig> rc, size_t service,
                                          size_t server, uint64_t generation) {
  const ServiceRuntime& svc = rc->services[service];
  const UpstreamServer& target = svc.servers[server];
  asio::steady_timer timer(io_);
  while (generation == generation_) {
    bool ok = co_await probe_once(svc, target);
    if (generation != generation_) break;
    bool was = target.health->healthy.exchange(ok);
    if (was != ok)
      core::log_warn("health check: ", target.url, " of service ", svc.name, ok ? " is healthy again" : " is unhealthy");
    timer.expires_after(svc.health_check->interval);
    co_await timer.async_wait(use_tuple);
  }
}

// One GET of the health path; healthy = the expected status (or any 2xx/3xx) in time.
awaitable<bool> HealthChecker::probe_once(const ServiceRuntime& svc, const UpstreamServer& server) {
  using namespace boost::asio::experimental::awaitable_operators;
  const auto& hc = *svc.health_check;
  UpstreamConn conn(io_.get_executor(), server);  // TLS for https servers, as requests use
  asio::steady_timer deadline(io_);
  deadline.expires_after(hc.timeout);
  auto exchange = [&]() -> awaitable<int> {
    tcp::endpoint ep = server.endpoint;
    if (hc.port) ep.port(static_cast<uint16_t>(hc.port));
    std::string why = co_await conn.connect(server, ep);
    if (!why.empty()) {
      core::log_debug("health check ", server.url, ": ", why);
      co_return 0;
    }
    std::string req = hc.method + " " + hc.path + " HTTP/1.1\r\nHost: " +
                      (hc.hostname.empty() ? server.authority : hc.hostname) + "\r\nUser-Agent: portier-healthcheck\r\n";
    for (const auto& [k, v] : hc.headers) req += k + ": " + v + "\r\n";
    req += "Connection: close\r\n\r\n";
    auto [wec, wn] = co_await conn.write(asio::buffer(req));
    if (wec) co_return 0;
    IoBuffer buf;
    ResponseHead head;
    for (;;) {
      auto [rec, n] = co_await conn.read_some(buf.prepare(4096));
      if (rec) co_return 0;
      buf.commit(n);
      auto r = parse_response_head(buf.readable(), HttpLimits{}, false, head);
      if (r.status == ParseStatus::complete) co_return head.status;
      if (r.status == ParseStatus::error) co_return 0;
    }
  };
  auto result = co_await (exchange() || deadline.async_wait(use_tuple_awaitable));
  if (result.index() != 0) co_return false;
  int status = std::get<0>(result);
  if (hc.status) co_return status == hc.status;
  co_return status >= 200 && status < 400;
}

}  // namespace portier::proxy
