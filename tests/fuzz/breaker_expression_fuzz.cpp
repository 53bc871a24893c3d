// circuitBreaker expressions from labels and files: parsing any text must end in an expression
// or an error with a position, and an expression must evaluate on any counts.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/breaker_expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portier::proxy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto e = BreakerExpression::parse(text, &error);
  if (!e) {
    if (error.empty()) std::abort();
    return 0;
  }
  BreakerStats stats;
  (void)e->eval(stats);
  for (size_t i = 0; i < size; ++i) stats.add(static_cast<int>(data[i]) * 3, static_cast<uint64_t>(data[i]) << (i % 40));
  (void)e->eval(stats);
  return 0;
}
