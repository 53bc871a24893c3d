#pragma once
// Merges the fragments of many containers (of many daemons) into the docker provider's one
// fragment, as Traefik does: a service defined by several containers becomes one load
// balancer with all their servers (when the rest of its definition agrees); routers and
// middlewares defined identically are kept once; any other conflicting definition is
// reported (every source named) and dropped. Pure, any thread.
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "config/dynamic.hpp"

namespace portier::discovery {

struct SourcedDynamic {
  std::string source;  // "container NAME on ENDPOINT"
  config::Dynamic dynamic;
};

// `inputs` in a deterministic order (the server order follows it); `errors` are appended
// to the result's errors first.
config::Fragment merge_fragments(const std::vector<SourcedDynamic>& inputs,
                                 std::vector<config::ConfigError> errors);

}  // namespace portier::discovery
