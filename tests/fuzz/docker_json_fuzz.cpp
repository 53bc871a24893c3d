// libFuzzer target: Docker Engine API answers: GET /containers/{id}/json (parse_inspect) and
// the /events stream (parse_event, one JSON object per line, as DockerClient::events splits
// it); an inspected container then goes through the label decoder as the provider does.
// Input: the response body. Checks: no crash and no exception; a rejected inspect says why;
// an accepted event has an id and an action.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discovery/docker_client.hpp"
#include "discovery/label_decoder.hpp"

using namespace portier::discovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto info = DockerClient::parse_inspect(text, "unix:///run/rediacc/docker-1.sock", &error);
  if (!info && error.empty()) std::abort();
  if (info) {
    DecodeOptions options;
    options.base_domain = "example.com";
    options.entry_points = {"web", "websecure"};
    (void)decode_container(*info, options);
    options.use_bind_port_ip = options.allow_empty_services = true;  // NetworkSettings.Ports, health
    options.network = "front";
    (void)decode_container(*info, options);
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (auto e = DockerClient::parse_event(rest.substr(0, nl)))
      if (e->id.empty() || e->action.empty()) std::abort();
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  return 0;
}
