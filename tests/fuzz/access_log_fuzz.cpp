// libFuzzer target: access log lines built from what a client controls (method, path, Host,
// Referer, User-Agent, X-Forwarded-For, any header kept by `fields.headers`).
// Input: fields separated by NUL bytes, in that order (missing ones are empty).
// Checks: no crash; every format writes exactly one line (a single '\n', at the end: a client
// cannot forge a second line); the JSON line parses (strict UTF-8) as one JSON object whose
// RequestMethod is the method sent (invalid UTF-8 replaced, so only emptiness is compared).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/access_log_format.hpp"

using namespace portier;
using namespace portier::proxy;

namespace {

std::vector<std::string_view> split(std::string_view in) {
  std::vector<std::string_view> out;
  while (out.size() < 7) {
    size_t nul = in.find('\0');
    out.push_back(in.substr(0, nul));
    if (nul == std::string_view::npos) break;
    in.remove_prefix(nul + 1);
  }
  out.resize(7);
  return out;
}

void check_one_line(const std::string& line) {
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = split(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<std::pair<std::string, std::string>> headers{{"Referer", std::string(f[3])},
                                                           {"User-Agent", std::string(f[4])},
                                                           {"X-Custom", std::string(f[6])}};
  RequestRecord r;
  r.method = f[0];
  r.path = f[1];
  r.host = f[2];
  r.forwarded_for = f[5];
  r.client_ip = "127.0.0.1";
  r.router = f[6];
  r.status = 200;
  r.request_headers = &headers;
  r.response_headers = &headers;
  for (auto format : {config::AccessLogConfig::Format::common, config::AccessLogConfig::Format::generic_clf,
                      config::AccessLogConfig::Format::json}) {
    config::AccessLogConfig cfg;
    cfg.format = format;
    cfg.headers_default = config::AccessLogConfig::HeaderMode::keep;
    std::string line;
    AccessLogFormat(cfg).append(r, 1, line);
    check_one_line(line);
    if (format != config::AccessLogConfig::Format::json) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);  // discarded when not valid JSON / UTF-8
    if (j.is_discarded() || !j.is_object()) std::abort();
    if (j["RequestMethod"].get<std::string>().empty() != f[0].empty()) std::abort();
  }
  return 0;
}
