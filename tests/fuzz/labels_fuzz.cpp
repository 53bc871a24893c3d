// libFuzzer target: Docker labels -> dynamic configuration (discovery::decode_container), then
// the docker provider's merge of several containers' fragments.
// Input: first byte selects the container's network setup and options (host network or a
// bridge network, exposed ports, auto-routes on/off, exposedByDefault); the rest is one label
// per line, "key=value" (a line without '=' is a key with an empty value).
// Checks: no crash and no exception (a bad label is an error of that container, never a
// throw); a disabled container contributes nothing; errors name the container.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/fragment_merge.hpp"
#include "discovery/label_decoder.hpp"

using namespace portier;
using namespace portier::discovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ContainerInfo c;
  c.id = "0123456789ab";
  c.name = (mode & 8) ? "app-web-1" : "Web_App.1";
  c.endpoint = "unix:///run/rediacc/docker-1.sock";
  if (mode & 1) {
    c.network_mode = "host";
    c.networks = {{"host", ""}};
  } else {
    c.network_mode = "bridge";
    c.networks = {{"bridge", "172.17.0.2"}, {"rediacc_net", "172.18.0.5"}};
  }
  if (mode & 2) c.ports = {80, 8080};
  if (mode & 64) c.health = (mode & 128) ? "healthy" : "starting";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t eq = line.find('=');
    std::string key(line.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1));
    c.labels[key] = value;
  }

  DecodeOptions options;
  options.exposed_by_default = (mode & 4) != 0;
  options.network = (mode & 16) ? "rediacc_net" : "";
  options.base_domain = (mode & 32) ? "example.com" : "";
  options.entry_points = {"web", "websecure"};
  options.cert_resolvers = {"letsencrypt"};

  ContainerFragment f = decode_container(c, options);
  const std::string source = container_source(c);
  for (const auto& e : f.errors)
    if (e.message.empty()) std::abort();
  if (!f.enabled && !(f.dynamic == config::Dynamic{})) std::abort();

  // Two containers with the same labels, as the provider merges them.
  ContainerInfo twin = c;
  twin.id = "ba9876543210";
  twin.name += "-2";
  ContainerFragment g = decode_container(twin, options);
  std::vector<SourcedDynamic> inputs{{source, f.dynamic}, {container_source(twin), g.dynamic}};
  config::Fragment merged = merge_fragments(inputs, f.errors);
  (void)merged;
  return 0;
}
