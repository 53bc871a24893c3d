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

// Traefik's normalizePath (RFC 3986 2.3, 6.2.2.1): a percent-encoded unreserved character
// (ALPHA, DIGIT, '-', '.', '_', '~') is decoded, any other escape gets upper-case hex digits
// ("%2f" → "%2F", which stays encoded). A '%' without two hex digits is copied as it is.
std::string normalize_path(std::string_view path);

// Rewrites head.target, head.path and head.query when the rules change them: the path is
// always normalized (normalize_path, as Traefik does on every entrypoint), then cleaned with
// sanitize_path (so "/a/%2e%2e/b" is "/b"); the query's ';' become '&' (or "%3B" with
// encode_query_semicolons). False, with `head` unchanged, when the path holds a '%' without
// two hex digits: Go refuses such a target ("invalid URL escape"), the caller answers 400.
// The new views point into `storage`, which must then outlive the head's use and not change.
// The target becomes origin-form (path?query). Costs one scan when nothing changes.
[[nodiscard]] bool apply_target_rules(RequestHead& head, const TargetRules& rules, std::string& storage);

}  // namespace portier::proxy
