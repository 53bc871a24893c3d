#include <catch2/catch.hpp>
#include <re2/re2.h>

#include "proxy/go_template.hpp"

using portier::proxy::go_template_to_rewrite;

namespace {

// `text` with every match of `regex` replaced by the Go template `tmpl`.
std::string replace_all(std::string text, const char* regex, const char* tmpl) {
  RE2 re(regex);
  std::string error;
  std::string rewrite = go_template_to_rewrite(tmpl, re, &error);
  REQUIRE(error.empty());
  RE2::GlobalReplace(&text, re, rewrite);
  return text;
}

}  // namespace

TEST_CASE("Go replacement templates expand as Go's Regexp.Expand does") {
  CHECK(replace_all("/foo/bar", "^/foo/(.*)", "/v2/$1") == "/v2/bar");
  CHECK(replace_all("/foo/bar", "^/foo/(.*)", "/v2/${1}x") == "/v2/barx");
  CHECK(replace_all("/foo/bar", "^/foo/(.*)", "/v2/$1x") == "/v2/");  // $1x is ${1x}: no such group
  CHECK(replace_all("/foo/bar", "^/(?P<first>[a-z]+)/(.*)", "/${2}/$first") == "/bar/foo");
  CHECK(replace_all("/a", "^/(a)", "/$$1\\\\") == "/$1\\\\");  // $$ is a literal $, backslashes literal
  CHECK(replace_all("/a", "^/(a)", "/$7") == "/");                 // out of range: nothing
  CHECK(replace_all("/a", "^/(a)", "/${") == "/${");               // malformed: a literal $
  CHECK(replace_all("/a/a", "a", "b") == "/b/b");                  // every match
}

TEST_CASE("a template naming a group past 9 is an error") {
  RE2 re("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)");
  std::string error;
  CHECK(go_template_to_rewrite("$10", re, &error).empty());
  CHECK(error.find("group 10") != std::string::npos);
}
