// The CORS decisions of the `headers` middleware (proxy/cors_policy.*) on outside input: the
// first line is a comma list of allowed origins, the second of origin regexes (labels, files),
// the third selects the options (its first byte's low bits: credentials, "*" methods, headers,
// exposed headers), then the request's Origin, Access-Control-Request-Method and
// -Request-Headers, a line each.
// Checks: no crash; an Access-Control-Allow-Origin is the origin itself, or "*" without
// credentials; a preflight is always 200 with no body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/value_parsers.hpp"
#include "proxy/cors_policy.hpp"
#include "tests/fuzz/fuzz_input.hpp"

using namespace portier;
using portier::fuzz::next_line;

namespace {
void check_origin(const proxy::HeaderList& fields, bool credentials, std::string_view origin) {
  for (const auto& [name, value] : fields)
    if (name == "Access-Control-Allow-Origin" && value != origin && (value != "*" || credentials)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  config::HeadersMw spec;
  spec.access_control_allow_origin_list = config::split_comma_list(next_line(in));
  spec.access_control_allow_origin_list_regex = config::split_comma_list(next_line(in));
  std::string_view options = next_line(in);
  unsigned bits = options.empty() ? 0 : static_cast<unsigned char>(options[0]);
  spec.access_control_allow_credentials = bits & 1;
  spec.access_control_allow_methods = {(bits & 2) ? "*" : "GET"};
  spec.access_control_allow_headers = {(bits & 4) ? "*" : "X-Custom"};
  spec.access_control_expose_headers = {(bits & 8) ? "*" : "X-Total"};
  std::string error;
  auto cors = proxy::CorsPolicy::make(spec, &error);
  if (!cors) {
    if (error.empty()) std::abort();
    return 0;
  }
  std::string_view origin = next_line(in), method = next_line(in), headers = next_line(in);
  check_origin(cors->response_fields(origin), spec.access_control_allow_credentials, origin);
  proxy::LocalReply reply = cors->preflight(origin, method, headers);
  if (reply.status != 200 || !reply.body.empty()) std::abort();
  check_origin(reply.headers, spec.access_control_allow_credentials, origin);
  return 0;
}
