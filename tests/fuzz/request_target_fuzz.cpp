// libFuzzer target: the entrypoint's target rules (normalizePath, sanitizePath, query
// semicolons) on request heads from clients. Input: the bytes a client sends. Checks: no crash;
// the path's escapes are normalized (normalizing again changes nothing); a cleaned path starts
// with '/', has no empty, "." or ".." segment and cleaning it again changes nothing; no ';'
// is left in the query; the rewritten views lie inside the storage.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/http1_parser.hpp"
#include "proxy/request_target.hpp"
#include "tests/fuzz/http1_fuzz_util.hpp"

using namespace portier::proxy;
using portier::proxy::fuzz::inside;

namespace {

void check(RequestHead head, TargetRules rules) {
  const std::string_view original_path = head.path;
  std::string storage;
  if (!apply_target_rules(head, rules, storage)) {
    if (!storage.empty() || head.path != original_path) std::abort();  // refused: unchanged
    return;
  }
  if (head.query.find(';') != std::string_view::npos) std::abort();
  if (!storage.empty()) {
    for (auto v : {head.target, head.path, head.query})
      if (!inside(v, storage)) std::abort();
    if (head.target.substr(0, head.path.size()) != head.path) std::abort();
  }
  if (normalize_path(head.path) != head.path) std::abort();  // escapes normalized, once is enough
  if (!rules.sanitize_path || original_path.empty() || original_path.front() != '/') return;
  std::string_view p = head.path;
  if (p.empty() || p.front() != '/') std::abort();
  if (clean_path(p) != p) std::abort();
  for (std::string_view bad : {"//", "/./", "/../"})
    if (p.find(bad) != std::string_view::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_request_line = 4096;
  limits.max_header_bytes = 8192;
  RequestHead head;
  if (parse_request_head(buf, limits, head).status != ParseStatus::complete) return 0;
  check(head, {true, false});
  check(head, {true, true});
  check(head, {false, true});
  return 0;
}
