// libFuzzer target: the API's reading of a request from outside (app/traefik_api.*): the path
// (segments, percent-decoded names) and the query (per_page, page, search, status,
// serviceName, middlewareName, sortBy, direction), against a fixed state with routers,
// services and middlewares whose names and rules hold odd bytes. Built by
// tests/fuzz/CMakeLists.txt, run by tests/fuzz/run.sh and ctest's fuzz.dashboard.
// Input: the first line is the method, the second the path, the rest the query.
// Checks: no crash or exception; every answer is a known status, JSON where it says so.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "app/traefik_api.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace portier;
using nlohmann::json;

namespace {

app::ApiState make_state() {
  const json routes = json::parse(R"JSON({
    "http": {
      "routers": {
        "w\u00e9b@docker": {"rule": "Host(`a%2F.test`) && PathPrefix(`/api`)", "entryPoints": ["web"],
                       "service": "s", "middlewares": ["m@file"], "priority": 9, "provider": "docker", "status": "enabled"},
        "x@file": {"rule": "Host(`x`)", "entryPoints": ["web"], "service": "gone", "middlewares": [],
                   "priority": 9, "provider": "file", "status": "disabled", "error": "service \"gone@file\" does not exist"}
      },
      "services": {"s@docker": {"type": "loadBalancer", "provider": "docker", "status": "enabled",
                                "servers": [{"url": "http://10.0.0.1", "healthy": false}]}},
      "middlewares": {"m@file": {"stripPrefix": {"prefixes": ["/a"]}, "type": "stripPrefix", "provider": "file",
                                 "status": "enabled"}}
    },
    "tcp": {"routers": {}, "services": {"t@file": {"type": "loadBalancer", "provider": "file", "status": "enabled",
                                                   "servers": [{"address": "10.0.0.2:1"}]}}, "middlewares": {}},
    "udp": {"routers": {}, "services": {}},
    "errors": []
  })JSON");
  app::ApiState s;
  s.runtime = app::traefik_runtime(routes);
  s.entry_points = json::array({{{"name", "web"}, {"address", ":80"}}});
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const app::ApiState state = make_state();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view method = fuzz::next_line(in);
  std::string_view path = fuzz::next_line(in);
  proxy::ApiReply r = app::answer_api(state, method, path, in);
  if (r.status != 200 && r.status != 301 && r.status != 400 && r.status != 404 && r.status != 405) std::abort();
  if (r.content_type == "application/json" && !json::accept(r.body)) std::abort();
  return 0;
}
