#include "proxy/go_template.hpp"

#include <re2/re2.h>

#include <cctype>

namespace portier::proxy {
namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The group `name` stands for: its number, or -1 when `re` has no such group.
int group_of(std::string_view name, const re2::RE2& re) {
  bool digits = !name.empty() && name.size() <= 6;
  for (char c : name) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    int n = std::stoi(std::string(name));
    return n <= re.NumberOfCapturingGroups() ? n : -1;
  }
  const auto& named = re.NamedCapturingGroups();
  auto it = named.find(std::string(name));
  return it == named.end() ? -1 : it->second;
}

}  // namespace

std::string go_template_to_rewrite(std::string_view tmpl, const re2::RE2& re, std::string* error) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c != '$') {
      if (c == '\\') out += '\\';  // a literal backslash in an RE2 rewrite
      out += c;
      continue;
    }
    if (i + 1 < tmpl.size() && tmpl[i + 1] == '$') {  // $$: a literal $
      out += '$';
      ++i;
      continue;
    }
    std::string_view name;
    size_t end = i + 1;
    if (end < tmpl.size() && tmpl[end] == '{') {
      size_t close = tmpl.find('}', end);
      if (close != std::string_view::npos) {
        name = tmpl.substr(end + 1, close - end - 1);
        end = close + 1;
      }
    } else {
      while (end < tmpl.size() && name_char(tmpl[end])) ++end;
      name = tmpl.substr(i + 1, end - i - 1);
    }
    bool valid = !name.empty();
    for (char n : name) valid = valid && name_char(n);
    if (!valid) {  // not a reference: the $ is literal, as in Go
      out += '$';
      continue;
    }
    int group = group_of(name, re);
    if (group > 9) {
      *error = "the replacement names group " + std::to_string(group) + " (up to 9 are supported)";
      return "";
    }
    if (group >= 0) out += "\\" + std::to_string(group);
    i = end - 1;
  }
  return out;
}

}  // namespace portier::proxy
