#include <catch2/catch.hpp>

#include <string>

#include "proxy/response_collector.hpp"

using namespace portier::proxy;
using Step = ResponseCollector::Step;

namespace {

std::string contents(BufferedBody& body) {
  std::string out(body.size(), '\0');
  size_t n = body.read(0, out.data(), out.size());
  out.resize(n);
  return out;
}

}  // namespace

TEST_CASE("ResponseCollector: chunked bodies are decoded, split anywhere") {
  std::string wire = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  const size_t end = wire.size() - 4;  // "NEXT" is not this body's
  for (size_t split = 0; split < end; ++split) {
    ResponseCollector c(BodyKind::chunked, 0, 100, 4);  // 4 bytes in memory: spills to a file
    size_t used1 = 0, used2 = 0;
    Step s1 = c.feed(std::string_view(wire).substr(0, split), &used1);
    REQUIRE(s1 == Step::more);
    REQUIRE(used1 == split);
    Step s2 = c.feed(std::string_view(wire).substr(split), &used2);
    REQUIRE(s2 == Step::done);
    CHECK(split + used2 == end);
    CHECK(contents(c.body()) == "hello world");
  }
}

TEST_CASE("ResponseCollector: the limit applies to the decoded size") {
  ResponseCollector exact(BodyKind::chunked, 0, 5, 1 << 20);
  size_t used = 0;
  CHECK(exact.feed("5\r\nhello\r\n0\r\n\r\n", &used) == Step::done);
  ResponseCollector over(BodyKind::chunked, 0, 5, 1 << 20);
  CHECK(over.feed("6\r\nhello!\r\n0\r\n\r\n", &used) == Step::too_large);
  ResponseCollector bad(BodyKind::chunked, 0, 5, 1 << 20);
  CHECK(bad.feed("zz\r\n", &used) == Step::error);
}

TEST_CASE("ResponseCollector: close-delimited bodies end at EOF") {
  ResponseCollector c(BodyKind::until_close, 0, 10, 1 << 20);
  size_t used = 0;
  CHECK(c.feed("0123456789", &used) == Step::more);
  CHECK(used == 10);
  CHECK(c.at_eof() == Step::done);
  CHECK(contents(c.body()) == "0123456789");
  CHECK(c.feed("x", &used) == Step::too_large);
  ResponseCollector chunked(BodyKind::chunked, 0, 10, 1 << 20);
  CHECK(chunked.at_eof() == Step::error);  // a truncated chunked body
}
