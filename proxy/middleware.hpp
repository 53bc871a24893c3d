#pragma once
// HTTP middlewares (Traefik's names and semantics). A router's chain is compiled once per
// snapshot into immutable Middleware objects shared by every worker. Each middleware sees the
// request head before it is forwarded and may: edit the request (headers, path), plan edits of
// the response headers, answer locally (redirects), or set body limits (buffering).
// Adding one: a make_* function in its own file, a case in make_middleware().
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/dynamic.hpp"
#include "proxy/http1_parser.hpp"

namespace portier::proxy {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HeaderEdits {
  HeaderList set;                   // replaces every header of that name
  std::vector<std::string> remove;  // names, case-insensitive
  bool touches(std::string_view name) const;
  void set_header(std::string name, std::string value);
  void remove_header(std::string name);
};

struct RequestEdits {
  HeaderEdits headers;
  std::optional<std::string> path;  // replaces the request path; the query is kept
};

struct LocalReply {
  int status = 0;
  HeaderList headers;
  std::string body;
};

// Buffering limits (0 = unlimited); the strictest middleware wins.
struct BodyLimits {
  int64_t max_request = 0;
  int64_t mem_request = 1 << 20;
  int64_t max_response = 0;
  int64_t mem_response = 1 << 20;  // with max_response: memory before a temp file
  bool buffer_request = false;
};

// What a middleware knows of the request.
struct RequestContext {
  const RequestHead& head;
  std::string_view path;  // current path (after earlier middlewares)
  bool tls = false;
};

class Middleware {
 public:
  virtual ~Middleware() = default;
  // A reply to send instead of forwarding, or nullopt to continue the chain.
  virtual std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                               HeaderEdits& response) const {
    return std::nullopt;
  }
  virtual void body_limits(BodyLimits& limits) const {}
};

using MiddlewarePtr = std::shared_ptr<const Middleware>;

// Null (and *error set) when the spec cannot be compiled. `chain` specs are expanded by
// expand_middlewares, not here.
MiddlewarePtr make_middleware(const config::MiddlewareSpec& spec, std::string* error);
// A router's middleware names, chains flattened in order, resolved in `all` (qualified names).
std::vector<MiddlewarePtr> expand_middlewares(const std::vector<std::string>& names,
                                              const std::map<std::string, config::Middleware>& all,
                                              std::string* error);

MiddlewarePtr make_headers_middleware(const config::HeadersMw& spec);
MiddlewarePtr make_redirect_scheme_middleware(const config::RedirectSchemeMw& spec);
MiddlewarePtr make_redirect_regex_middleware(const config::RedirectRegexMw& spec, std::string* error);
MiddlewarePtr make_strip_prefix_middleware(const config::StripPrefixMw& spec);
MiddlewarePtr make_add_prefix_middleware(const config::AddPrefixMw& spec);
MiddlewarePtr make_buffering_middleware(const config::BufferingMw& spec);

// "https" or "http", as the client reached portier.
std::string request_scheme(bool tls);

}  // namespace portier::proxy
