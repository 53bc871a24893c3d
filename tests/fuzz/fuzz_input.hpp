#pragma once
// Splitting a fuzz input into the lines its target reads one after the other.
#include <string_view>

namespace portier::fuzz {

// The text up to the next '\n' (or the end), removed from `in` with its newline.
inline std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == in.npos ? in.size() : nl + 1);
  return line;
}

}  // namespace portier::fuzz
