#include "discovery/docker_check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "discovery/docker_client.hpp"
#include "discovery/label_decoder.hpp"

namespace portier::discovery {
namespace {

namespace asio = boost::asio;

bool has_content(const config::Dynamic& d) {
  return !d.http.routers.empty() || !d.http.services.empty() || !d.http.middlewares.empty() ||
         !d.tcp.routers.empty() || !d.tcp.services.empty() || !d.tcp.middlewares.empty() ||
         !d.udp.routers.empty() || !d.udp.services.empty();
}

asio::awaitable<void> check_daemon(std::string endpoint, const DockerProviderOptions& options,
                                   DaemonContainers& out) {
  auto executor = co_await asio::this_coro::executor;
  DockerClient client(executor, endpoint, options.http);
  auto ids = co_await client.list_container_ids();
  if (!ids.ok()) {
    out.errors.push_back({"docker", endpoint, "", "cannot list containers: " + ids.error});
    co_return;
  }
  for (const auto& id : ids.value) {
    auto info = co_await client.inspect(id);
    if (info.not_found) continue;  // gone since the list
    if (!info.ok()) {
      out.errors.push_back({"docker", endpoint, "", "cannot inspect container " + id + ": " + info.error});
      continue;
    }
    auto f = decode_container(info.value, options.decode);
    out.errors.insert(out.errors.end(), f.errors.begin(), f.errors.end());
    if (!f.skipped.empty()) out.skipped.push_back({"docker", container_source(info.value), "", f.skipped});
    if (has_content(f.dynamic)) out.parts.push_back({container_source(info.value), std::move(f.dynamic)});
  }
}

}  // namespace

DaemonContainers check_docker_daemons(const DockerProviderOptions& options) {
  DaemonContainers out;
  auto endpoints = DockerProvider::expand_endpoints(options.endpoints);
  if (endpoints.empty()) {
    std::string patterns;
    for (const auto& p : options.endpoints) patterns += (patterns.empty() ? "" : ", ") + p;
    out.errors.push_back({"docker", "providers.docker.endpoints", "", "no Docker daemon matches " + patterns});
    return out;
  }
  asio::io_context io;
  for (const auto& endpoint : endpoints)
    asio::co_spawn(io, check_daemon(endpoint, options, out), [&](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        out.errors.push_back({"docker", endpoint, "", std::string("check failed: ") + ex.what()});
      }
    });
  io.run();
  return out;
}

}  // namespace portier::discovery
