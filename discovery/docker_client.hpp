#pragma once
// Docker Engine API client (the subset portier needs) over core::HttpClient.
// Thread: the control io_context; calls are coroutines and may overlap.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_client.hpp"
#include "discovery/container_info.hpp"

namespace portier::discovery {

struct DockerEvent {
  std::string action;  // "start", "kill", "die", "health_status: healthy", ...
  std::string id;
  std::string name;
  std::map<std::string, std::string> attributes;  // Actor.Attributes (labels, signal, ...)
  int64_t time = 0;                                // seconds
};

template <class T>
struct DockerResult {
  T value{};
  std::string error;  // "" on success
  bool not_found = false;  // 404: the container is gone
  bool ok() const { return error.empty(); }
};

class DockerClient {
 public:
  DockerClient(boost::asio::any_io_executor executor, std::string endpoint,
               core::HttpClientOptions options = {});

  const std::string& endpoint() const { return http_.endpoint(); }

  // GET /_ping
  boost::asio::awaitable<DockerResult<bool>> ping();
  // GET /containers/json (running containers): their ids.
  boost::asio::awaitable<DockerResult<std::vector<std::string>>> list_container_ids();
  // GET /containers/{id}/json
  boost::asio::awaitable<DockerResult<ContainerInfo>> inspect(std::string id);
  // GET /events?since=…&filters={"type":["container"]}: calls on_event for each event until
  // the stream ends or `canceller` fires. Returns why it ended (never "" in practice).
  boost::asio::awaitable<std::string> events(std::function<void(const DockerEvent&)> on_event,
                                             core::StreamCanceller* canceller, int64_t since = 0);

  // Parsers, exposed for tests. parse_inspect: `endpoint` is stored in the result.
  static std::optional<ContainerInfo> parse_inspect(std::string_view json, const std::string& endpoint,
                                                    std::string* error = nullptr);
  static std::optional<DockerEvent> parse_event(std::string_view json);

 private:
  core::HttpClient http_;
};

}  // namespace portier::discovery
