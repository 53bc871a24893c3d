// libFuzzer target: the rule parser (config::parse_rule) and the compiled matchers
// (proxy/rule_matcher). Built by tests/fuzz/CMakeLists.txt (PORTIER_FUZZ=ON), run by
// tests/fuzz/run.sh and ctest's fuzz.rule.
// Input: first byte selects HTTP/TCP, the rest is the rule text. Checks: no crash, a rule the
// parser accepts always compiles, and host_only_names agrees with the compiled matcher.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/rule.hpp"
#include "proxy/rule_matcher.hpp"

using namespace portier;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool http = data[0] & 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = config::parse_rule(text, http ? config::RuleKind::http : config::RuleKind::tcp);
  if (!parsed.root) {
    if (parsed.error.empty()) std::abort();
    return 0;
  }
  if (!parsed.error.empty()) std::abort();
  const config::RuleNode& root = *parsed.root;
  (void)config::rule_host_names(root);
  std::string error;
  boost::asio::ip::address_v4::bytes_type b{10, data[0], 0, 1};
  boost::asio::ip::address client{boost::asio::ip::address_v4(b)};
  if (http) {
    auto m = proxy::compile_http_rule(root, &error);
    if (!m) std::abort();  // parser-accepted rules must compile
    proxy::Header headers[] = {{"X-A", text}, {"x-a", "b"}};
    proxy::RequestView v{"GET", "example.com", text, text, headers, client};
    (void)m->match(v);
    if (auto names = proxy::host_only_names(root)) {
      for (const std::string& n : *names) {
        proxy::RequestView hv{"GET", n, "/", "", {}, client};
        if (!m->match(hv)) std::abort();
      }
    }
  } else {
    auto m = proxy::compile_tcp_rule(root, &error);
    if (!m) std::abort();
    std::string protos[] = {"h2", std::string(text)};
    proxy::ConnView c{text, protos, client, true};
    (void)m->match(c);
    proxy::ConnView plain{"", {}, client, false};
    if (m->catch_all() && !m->match(plain)) std::abort();
  }
  return 0;
}
