#pragma once
// What Traefik's entrypoint does to a request target before routing
// (pkg/server/server_entrypoint_tcp.go): Go's AllowQuerySemicolons, or encodeQuerySemicolons,
// and sanitizePath. Both codecs apply it to the parsed head, so routing, middlewares, the
// access log and the upstream request all see the result.
#include <string>
#include <string_view>

#include "proxy/http1_parser.hpp"

namespace portier::proxy {

struct TargetRules {
  bool sanitize_path = true;             // http.sanitizePath
  bool encode_query_semicolons = false;  // http.encodeQuerySemicolons
};

// Go's path.Clean of a path starting with '/' ("//" → "/", "." and ".." segments resolved,
// ".." never above the root), keeping a trailing slash as URL.JoinPath does. Other paths
// ("*", "") are returned unchanged.
std::string clean_path(std::string_view path);

// Rewrites head.target, head.path and head.query when the rules change them: the query's ';'
// become '&' (or "%3B" with encode_query_semicolons), the path is cleaned with sanitize_path.
// The new views point into `storage`, which must then outlive the head's use and not change.
// The target becomes origin-form (path?query). Costs one scan when nothing changes.
void apply_target_rules(RequestHead& head, const TargetRules& rules, std::string& storage);

}  // namespace portier::proxy
