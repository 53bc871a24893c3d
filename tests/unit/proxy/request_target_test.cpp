// Traefik's entrypoint target rules: sanitizePath (Go's URL.JoinPath) and the query's
// semicolons (AllowQuerySemicolons, encodeQuerySemicolons).
#include "proxy/request_target.hpp"

#include <catch2/catch.hpp>

using namespace portier::proxy;

TEST_CASE("clean_path: Go's path.Clean with the trailing slash kept", "[target]") {
  CHECK(clean_path("/") == "/");
  CHECK(clean_path("//") == "/");
  CHECK(clean_path("/a//b") == "/a/b");
  CHECK(clean_path("/a/./b") == "/a/b");
  CHECK(clean_path("/a/b/../c") == "/a/c");
  CHECK(clean_path("/a/b/..") == "/a");
  CHECK(clean_path("/a/b/../") == "/a/");
  CHECK(clean_path("/a/.") == "/a");
  CHECK(clean_path("/..") == "/");
  CHECK(clean_path("/../../etc/passwd") == "/etc/passwd");
  CHECK(clean_path("/a//") == "/a/");
  CHECK(clean_path("/a/..b/.c") == "/a/..b/.c");  // only whole segments
  CHECK(clean_path("/%2e%2e/x") == "/%2e%2e/x");  // escaped dots are not segments here
  CHECK(clean_path("*") == "*");
}

namespace {

RequestHead head_for(std::string_view target) {
  RequestHead h;
  h.target = target;
  size_t q = target.find('?');
  h.path = target.substr(0, q);
  h.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  return h;
}

}  // namespace

TEST_CASE("apply_target_rules: path and query as Traefik forwards them", "[target]") {
  std::string storage;
  SECTION("unchanged targets keep their views") {
    RequestHead h = head_for("/a/b?x=1");
    const char* before = h.target.data();
    apply_target_rules(h, {}, storage);
    CHECK(h.target.data() == before);
    CHECK(storage.empty());
  }
  SECTION("sanitized path, semicolons as '&' (the default)") {
    RequestHead h = head_for("/a/../b//c?x=1;y=2");
    apply_target_rules(h, {}, storage);
    CHECK(h.target == "/b/c?x=1&y=2");
    CHECK(h.path == "/b/c");
    CHECK(h.query == "x=1&y=2");
  }
  SECTION("encodeQuerySemicolons") {
    RequestHead h = head_for("/p?x=1;y=2");
    apply_target_rules(h, {true, true}, storage);
    CHECK(h.target == "/p?x=1%3By=2");
    CHECK(h.query == "x=1%3By=2");
  }
  SECTION("sanitizePath false keeps the path") {
    RequestHead h = head_for("/a/../b");
    apply_target_rules(h, {false, false}, storage);
    CHECK(h.target == "/a/../b");
    CHECK(h.path == "/a/../b");
  }
}
