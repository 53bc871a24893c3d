#include <catch2/catch.hpp>

#include "proxy/http1_parser.hpp"

using namespace portier::proxy;

namespace {
ParseOutcome req(std::string_view text, RequestHead& head, HttpLimits limits = {}) {
  return parse_request_head(text, limits, head);
}
}  // namespace

TEST_CASE("request head: simple GET with keep-alive") {
  RequestHead h;
  std::string text = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: Example.com:8080\r\nX-A: 1\r\n\r\nNEXT";
  auto r = req(text, h);
  REQUIRE(r.status == ParseStatus::complete);
  CHECK(h.method == "GET");
  CHECK(h.path == "/a/b");
  CHECK(h.query == "x=1&y=2");
  CHECK(h.host == "Example.com:8080");
  CHECK(h.keep_alive);
  CHECK(h.body == BodyKind::none);
  CHECK(h.head_size == text.size() - 4);
  CHECK(h.headers.size() == 2);
}

TEST_CASE("request head: incomplete heads need more") {
  RequestHead h;
  CHECK(req("GET / HTTP/1.1\r\nHost: a\r\n", h).status == ParseStatus::need_more);
  CHECK(req("GET / HT", h).status == ParseStatus::need_more);
}

TEST_CASE("request head: framing") {
  RequestHead h;
  REQUIRE(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.body == BodyKind::length);
  CHECK(h.content_length == 12);
  REQUIRE(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.body == BodyKind::chunked);
  REQUIRE(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.upgrade);
  REQUIRE(req("GET / HTTP/1.0\r\n\r\n", h).status == ParseStatus::complete);
  CHECK_FALSE(h.keep_alive);
  REQUIRE(req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.expect_continue);
}

TEST_CASE("request head: ambiguous or malformed requests are 400") {
  RequestHead h;
  const char* bad[] = {
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Long: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\r\n\r\n",
  };
  for (const char* text : bad) {
    INFO(text);
    auto r = req(text, h);
    CHECK(r.status == ParseStatus::error);
    CHECK(r.http_status == 400);
  }
}

TEST_CASE("request head: limits give 414 and 431") {
  RequestHead h;
  HttpLimits limits;
  limits.max_request_line = 64;
  limits.max_header_bytes = 256;
  limits.max_headers = 3;
  std::string long_line = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK(req(long_line, h, limits).http_status == 414);
  CHECK(req("GET /" + std::string(100, 'a'), h, limits).http_status == 414);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'b') + "\r\n\r\n";
  CHECK(req(big, h, limits).http_status == 431);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  CHECK(req(many, h, limits).http_status == 431);
}

TEST_CASE("request head: absolute-form target") {
  RequestHead h;
  REQUIRE(req("GET http://Site.example/x?q HTTP/1.1\r\nHost: other\r\n\r\n", h).status == ParseStatus::complete);
  CHECK(h.host == "Site.example");
  CHECK(h.path == "/x");
  CHECK(h.query == "q");
}

TEST_CASE("response head: framing by status and headers") {
  ResponseHead r;
  HttpLimits l;
  REQUIRE(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", l, false, r).status == ParseStatus::complete);
  CHECK(r.status == 200);
  CHECK(r.body == BodyKind::length);
  REQUIRE(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", l, true, r).status == ParseStatus::complete);
  CHECK(r.body == BodyKind::none);
  REQUIRE(parse_response_head("HTTP/1.1 204 No Content\r\n\r\n", l, false, r).status == ParseStatus::complete);
  CHECK(r.body == BodyKind::none);
  REQUIRE(parse_response_head("HTTP/1.0 200 OK\r\n\r\n", l, false, r).status == ParseStatus::complete);
  CHECK(r.body == BodyKind::until_close);
  CHECK_FALSE(r.keep_alive);
  REQUIRE(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", l, false, r).status == ParseStatus::complete);
  CHECK(r.body == BodyKind::chunked);
  CHECK(parse_response_head("HTTP/1.1 2x0 OK\r\n\r\n", l, false, r).status == ParseStatus::error);
}

TEST_CASE("chunked scanner: finds the end across arbitrary splits") {
  std::string body = "5\r\nhello\r\n1;ext=1\r\n \r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t step = 1; step <= body.size(); ++step) {
    ChunkedScanner s;
    size_t pos = 0;
    ChunkedScanner::Result res = ChunkedScanner::Result::more;
    while (pos < body.size() && res == ChunkedScanner::Result::more) {
      size_t used = 0;
      res = s.feed(std::string_view(body).substr(pos, step), &used);
      pos += used;
    }
    REQUIRE(res == ChunkedScanner::Result::done);
    CHECK(body.substr(pos) == "NEXT");
    CHECK(s.body_bytes() == 6);
  }
}

TEST_CASE("chunked scanner: rejects invalid sizes and framing") {
  const char* bad[] = {"zz\r\n", "5\r\nhelloXX", "\r\n", "1\nx\r\n", "12345678901234567\r\n", "-1\r\n"};
  for (const char* b : bad) {
    INFO(b);
    ChunkedScanner s;
    size_t used = 0;
    CHECK(s.feed(b, &used) == ChunkedScanner::Result::error);
  }
}

TEST_CASE("chunked scanner: trailer fields are validated before the terminator") {
  // A last chunk missing its CRLF followed by the next pipelined request, a name with
  // whitespace, a field without ':', a control character in a value, an empty name, a bare
  // LF, an oversized section.
  std::string bad[] = {"0\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
                       "0\r\nX-A : b\r\n\r\n",
                       "0\r\nnocolon\r\n\r\n",
                       std::string("0\r\nX-A: b\x01c\r\n\r\n"),
                       "0\r\n: v\r\n\r\n",
                       "0\r\nX-A: b\n\r\n",
                       "0\r\nX-A: b\r\r\n",
                       "0\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"};
  for (const std::string& b : bad) {
    INFO(b.substr(0, 40));
    ChunkedScanner s;
    size_t used = 0;
    REQUIRE(s.feed(b, &used) == ChunkedScanner::Result::error);
    // Nothing past the offending byte is consumed: the terminator is never passed on.
    CHECK(used <= b.size() - 2);
  }
  ChunkedScanner s;
  size_t used = 0;
  std::string ok = "0\r\nX-Checksum: abc def\t\xff\r\nX-B:\r\n\r\nNEXT";
  REQUIRE(s.feed(ok, &used) == ChunkedScanner::Result::done);
  CHECK(ok.substr(used) == "NEXT");
}

TEST_CASE("header tokens") {
  CHECK(header_has_token("keep-alive, Upgrade", "upgrade"));
  CHECK_FALSE(header_has_token("keep-alive", "close"));
  CHECK(iequals("Content-Length", "content-length"));
}

TEST_CASE("header tokens: iequals folds letters only") {
  CHECK(iequals("X-A_b", "x-a_B"));
  CHECK_FALSE(iequals("a@", "a`"));  // '@' and '`' differ only in the case bit, but are not letters
  CHECK_FALSE(iequals("[", "{"));
  CHECK_FALSE(iequals("ab", "abc"));
}

// The fast field loop hands irregular lines to the checked reference parser: both must give
// the same outcome (status, HTTP status, reason) and the same fields, on every block.
TEST_CASE("header fields: the fast parser agrees with the checked one") {
  static const std::string_view kPieces[] = {"Host", "X-a", ":", ": ", " ", "\t", "v", "va lue", "\r\n",
                                             "\r", "\n", std::string_view("\0", 1), "@", "(", "\r\n\r\n"};
  HttpLimits limits;
  limits.max_headers = 6;
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  for (int round = 0; round < 20000; ++round) {
    std::string block;
    int lines = static_cast<int>(next() % 9);
    for (int l = 0; l < lines; ++l) {
      // Mostly well-formed lines, with random pieces spliced in.
      if (next() % 3 != 0) {
        block += "Name" + std::to_string(l) + ": value " + std::to_string(next() % 100) + " \r\n";
        continue;
      }
      int pieces = 1 + static_cast<int>(next() % 6);
      for (int k = 0; k < pieces; ++k) block += kPieces[next() % std::size(kPieces)];
    }
    if (next() % 2) block += "\r\n";
    std::vector<HeaderField> fast, checked;
    ParseOutcome a = parse_header_fields(block, limits, fast);
    ParseOutcome b = parse_header_fields_checked(block, limits, checked);
    INFO("block: " << block);
    REQUIRE(a.status == b.status);
    REQUIRE(a.http_status == b.http_status);
    REQUIRE(std::string_view(a.reason) == std::string_view(b.reason));
    REQUIRE(fast.size() == checked.size());
    for (size_t i = 0; i < fast.size(); ++i) {
      REQUIRE(fast[i].name == checked[i].name);
      REQUIRE(fast[i].value == checked[i].value);
    }
  }
}
