// Sticky cookie names and values as Traefik v3 writes and reads them.
#include <catch2/catch.hpp>

#include "proxy/sticky_cookie.hpp"

using portier::proxy::sticky_cookie_name;
using portier::proxy::StickyTarget;

TEST_CASE("a sticky value is Traefik's: SHA-256 of the name, 16 hex digits", "[sticky]") {
  StickyTarget t("http://127.0.0.1:8080");
  CHECK(t.value == "d30a576c03187167");
  CHECK(t.named_by("d30a576c03187167"));
}

TEST_CASE("older Traefik values still name the target", "[sticky]") {
  StickyTarget t("http://127.0.0.1:8080");
  CHECK(t.named_by("http://127.0.0.1:8080"));  // the name itself
  CHECK(t.named_by("5a1cc52f3f46040c"));       // FNV-1 64
  CHECK(t.named_by("7d49894b220072d5"));       // FNV-1 64 of that
  CHECK_FALSE(t.named_by(""));
  CHECK_FALSE(t.named_by("d30a576c0318716"));
  CHECK_FALSE(StickyTarget("http://127.0.0.1:8081").named_by(t.value));
}

TEST_CASE("cookie names: configured ones sanitized, others generated", "[sticky]") {
  CHECK(sticky_cookie_name("", "/my/BACKEND-v1.0~rc1") == "_5f7bc");
  CHECK(sticky_cookie_name("", "app@docker") == "_a9f6e");
  CHECK(sticky_cookie_name("/my/BACKEND-v1.0~rc1", "x") == "_my_BACKEND-v1.0~rc1");
  CHECK(sticky_cookie_name("!#$%&'()*+-./:<=>?@[]^_`{|}~", "x") == "!#$%&'__*+-._________^_`_|_~");
  CHECK(sticky_cookie_name("lb_sticky", "x") == "lb_sticky");
}
