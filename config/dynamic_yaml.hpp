#pragma once
// Traefik v3 dynamic configuration in YAML (the file provider's format) -> Fragment.
#include <string>
#include <string_view>

#include "config/dynamic.hpp"

namespace portier::config {

// Parses one Traefik dynamic YAML document. Never throws on bad input: every problem becomes a
// ConfigError{provider "file", source, label = YAML path, message, line}. Keys of Traefik's own
// fields match case-insensitively (as Traefik does); item names are kept as written. A bad item
// (router, service, middleware, certificate, ...) is skipped alone, the rest still loads. An
// empty document is a valid empty fragment. Names are bare; references stay as written.
// `sources` of the result maps "http.routers.NAME" etc. to `source`.
Fragment parse_dynamic_yaml(std::string_view text, const std::string& source);

}  // namespace portier::config
