#pragma once
// Go's regexp replacement templates ($1, ${1}, $name, ${name}, $$), which Traefik's
// redirectRegex and replacePathRegex take, as RE2 rewrite strings (\1 ... \9).
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace portier::proxy {

// As Go's Regexp.Expand reads `tmpl`: a name is as long as possible ($1x is ${1x}), and a group
// that is out of range or not in `re` expands to nothing. Empty with *error set when the
// template names a group past 9 (RE2 rewrites reach \9).
std::string go_template_to_rewrite(std::string_view tmpl, const re2::RE2& re, std::string* error);

}  // namespace portier::proxy
