#pragma once
// `portier check --docker`: the labels of the containers running now on the daemons the
// docker provider would follow, decoded as the provider decodes them. Read-only: no event
// stream, no port allocation, nothing written ({state}/ports.json is left alone).
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "discovery/docker_provider.hpp"
#include "discovery/fragment_merge.hpp"

namespace portier::discovery {

struct DaemonContainers {
  std::vector<SourcedDynamic> parts;        // one per container with routers/services/middlewares
  std::vector<config::ConfigError> errors;  // bad labels, and daemons that could not be listed
  std::vector<config::ConfigError> skipped;  // containers left out by design (constraints)
};

// Lists and inspects every running container of every endpoint (globs expanded as the provider
// does), each request bounded by options.http. A daemon that cannot be listed, or no daemon
// matching the endpoints, is an error: its containers could not be checked. Blocking: runs its
// own io_context until every daemon has answered.
DaemonContainers check_docker_daemons(const DockerProviderOptions& options);

}  // namespace portier::discovery
