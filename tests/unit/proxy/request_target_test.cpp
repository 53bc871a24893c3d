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

TEST_CASE("normalize_path: Traefik's normalizePath of percent-encodings", "[target]") {
  CHECK(normalize_path("/a/%2e%2e/b") == "/a/../b");
  CHECK(normalize_path("/%41%7a%30%2D%5f%7E") == "/Az0-_~");  // unreserved: decoded
  CHECK(normalize_path("/a%2fb%2Fc") == "/a%2Fb%2Fc");         // '/' stays encoded, upper-case hex
  CHECK(normalize_path("/%c3%a9%20") == "/%C3%A9%20");
  CHECK(normalize_path("/100%") == "/100%");  // not an escape: copied (apply_target_rules refuses it)
  CHECK(normalize_path("/%zz%4") == "/%zz%4");
  CHECK(normalize_path("/%%41") == "/%A");
  CHECK(normalize_path("") == "");
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
    CHECK(apply_target_rules(h, {}, storage));
    CHECK(h.target.data() == before);
    CHECK(storage.empty());
  }
  SECTION("sanitized path, semicolons as '&' (the default)") {
    RequestHead h = head_for("/a/../b//c?x=1;y=2");
    CHECK(apply_target_rules(h, {}, storage));
    CHECK(h.target == "/b/c?x=1&y=2");
    CHECK(h.path == "/b/c");
    CHECK(h.query == "x=1&y=2");
  }
  SECTION("encodeQuerySemicolons") {
    RequestHead h = head_for("/p?x=1;y=2");
    CHECK(apply_target_rules(h, {true, true}, storage));
    CHECK(h.target == "/p?x=1%3By=2");
    CHECK(h.query == "x=1%3By=2");
  }
  SECTION("sanitizePath false keeps the path") {
    RequestHead h = head_for("/a/../b");
    CHECK(apply_target_rules(h, {false, false}, storage));
    CHECK(h.target == "/a/../b");
    CHECK(h.path == "/a/../b");
  }
  SECTION("escaped dots are decoded, then the path is cleaned; an escaped '/' is no separator") {
    RequestHead h = head_for("/a/%2e%2E/b/%2E/c?q=%2e");
    CHECK(apply_target_rules(h, {}, storage));
    CHECK(h.target == "/b/c?q=%2e");  // the query is not the path's business
    CHECK(h.path == "/b/c");
    h = head_for("/a%2f..%2fb/%7euser");
    CHECK(apply_target_rules(h, {}, storage));
    CHECK(h.path == "/a%2F..%2Fb/~user");
  }
  SECTION("a '%' without two hex digits in the path is refused (Go: invalid URL escape), head unchanged") {
    for (const char* target : {"/100%", "/a%zz", "/%%41", "/x%4?q"}) {
      RequestHead h = head_for(target);
      CHECK_FALSE(apply_target_rules(h, {}, storage));
      CHECK(h.target == target);
    }
    RequestHead h = head_for("/a?q=100%");  // the query is not checked (Go keeps RawQuery)
    CHECK(apply_target_rules(h, {}, storage));
  }
  SECTION("sanitizePath false still normalizes the escapes, as Traefik does") {
    RequestHead h = head_for("/a/%2e%2e/b%2f");
    CHECK(apply_target_rules(h, {false, false}, storage));
    CHECK(h.target == "/a/../b%2F");
  }
}
