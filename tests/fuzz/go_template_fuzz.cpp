// Go replacement templates from labels (replacePathRegex, redirectRegex): the first line is the
// regex, the rest the template. A template the converter accepts must give RE2 a valid rewrite
// string for that regex, applied to a path without crashing.
#include <re2/re2.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/go_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  if (newline == std::string_view::npos) return 0;
  RE2 re(text.substr(0, newline), RE2::Quiet);
  if (!re.ok()) return 0;
  std::string error;
  std::string rewrite = portier::proxy::go_template_to_rewrite(text.substr(newline + 1), re, &error);
  if (!error.empty()) return 0;
  std::string why;
  if (!re.CheckRewriteString(rewrite, &why)) std::abort();
  std::string path = "/api/v1/users/42/orders?x";
  RE2::GlobalReplace(&path, re, rewrite);
  return 0;
}
