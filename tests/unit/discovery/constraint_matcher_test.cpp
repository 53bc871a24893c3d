#include "discovery/constraint_matcher.hpp"

#include <catch2/catch.hpp>

using namespace portier::discovery;
using Labels = std::map<std::string, std::string>;

namespace {

std::shared_ptr<const ConstraintMatcher> compiled(const std::string& expression) {
  std::shared_ptr<const ConstraintMatcher> m;
  auto error = ConstraintMatcher::compile(expression, m);
  INFO(expression << ": " << error);
  REQUIRE(error.empty());
  REQUIRE(m);
  return m;
}

std::string compile_error(const std::string& expression) {
  std::shared_ptr<const ConstraintMatcher> m;
  return ConstraintMatcher::compile(expression, m);
}

}  // namespace

TEST_CASE("constraints: Label compares the whole value; an absent label reads as empty", "[constraints]") {
  auto m = compiled("Label(`tier`, `front`)");
  CHECK(m->matches({{"tier", "front"}}));
  CHECK_FALSE(m->matches({{"tier", "frontend"}}));
  CHECK_FALSE(m->matches({{"Tier", "front"}}));  // label names are case-sensitive
  CHECK_FALSE(m->matches({}));
  auto empty = compiled("Label(`tier`, ``)");
  CHECK(empty->matches({}));
  CHECK(empty->matches({{"tier", ""}}));
  CHECK_FALSE(empty->matches({{"tier", "x"}}));
}

TEST_CASE("constraints: LabelRegex matches anywhere in the value (Go's MatchString)", "[constraints]") {
  auto m = compiled("LabelRegex(`team`, `^ops-[0-9]+$`)");
  CHECK(m->matches({{"team", "ops-12"}}));
  CHECK_FALSE(m->matches({{"team", "ops-x"}}));
  CHECK_FALSE(m->matches({}));
  auto unanchored = compiled(R"(LabelRegex("team", "ops"))");
  CHECK(unanchored->matches({{"team", "devops"}}));
}

TEST_CASE("constraints: !, && and || with parentheses and the usual precedence", "[constraints]") {
  auto m = compiled("Label(`a`, `1`) || Label(`b`, `1`) && !Label(`c`, `1`)");
  CHECK(m->matches({{"a", "1"}, {"c", "1"}}));  // a || (b && !c)
  CHECK(m->matches({{"b", "1"}}));
  CHECK_FALSE(m->matches({{"b", "1"}, {"c", "1"}}));
  auto grouped = compiled("(Label(`a`, `1`) || Label(`b`, `1`)) && !LabelRegex(`c`, `.`)");
  CHECK_FALSE(grouped->matches({{"a", "1"}, {"c", "1"}}));
  CHECK(grouped->matches({{"b", "1"}}));
  // Regexes keep their order whatever the evaluation: the second one is not the first.
  auto two = compiled("LabelRegex(`x`, `^a$`) || LabelRegex(`y`, `^b$`)");
  CHECK(two->matches({{"y", "b"}}));
  CHECK_FALSE(two->matches({{"y", "a"}}));
}

TEST_CASE("constraints: an empty expression matches every container", "[constraints]") {
  CHECK(compiled("")->matches({}));
}

TEST_CASE("constraints: bad expressions are errors with their column", "[constraints]") {
  CHECK(compile_error("Label(`a`)").find("Label takes 2 arguments") != std::string::npos);
  CHECK(compile_error("Host(`a`)").find("not allowed in a constraint rule") != std::string::npos);
  CHECK(compile_error("Foo(`a`, `b`)").find("constraint matchers: Label, LabelRegex") != std::string::npos);
  CHECK(compile_error("LabelRegex(`a`, `(`)").find("column") != std::string::npos);
  CHECK(compile_error("Label(`a`, `b`) &&").find("column") != std::string::npos);
  CHECK(compile_error("Label(``, `b`)").find("empty argument") != std::string::npos);
  CHECK_FALSE(compile_error("Label(`a`, `b`").empty());
}
