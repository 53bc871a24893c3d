// HTTP/2 towards clients: a real nghttp2 client speaks h2c (prior knowledge) to a Worker,
// which proxies to a real HTTP/1.1 origin on loopback.
#include <catch2/catch.hpp>

#include "http2_test_util.hpp"

using namespace portier::proxy;
using namespace portier::proxy::test;

namespace {

bool all_closed(H2Client& c, const std::vector<int32_t>& ids) {
  for (auto id : ids)
    if (!c.responses[id].closed) return false;
  return true;
}

}  // namespace

TEST_CASE("h2c: multiplexed requests on one connection", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  H2Client client(proxy.port());
  REQUIRE(client.connected());
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(client.request("GET", "/info?i=" + std::to_string(i)));
  REQUIRE(client.run_until([&] { return all_closed(client, ids); }));
  for (int i = 0; i < 40; ++i) {
    const auto& r = client.responses[ids[i]];
    INFO("stream " << ids[i]);
    CHECK(r.error == 0);
    CHECK(r.status == 200);
    CHECK(r.body.rfind("GET /info?i=" + std::to_string(i) + "\n", 0) == 0);
    CHECK(r.body.find("Host: h2.test\n") != std::string::npos);
    CHECK(r.body.find("X-Forwarded-Proto: http\n") != std::string::npos);
    CHECK(r.body.find("X-Forwarded-For: 127.0.0.1\n") != std::string::npos);
    // Hop-by-hop and connection-specific headers of the origin are not relayed.
    CHECK(r.header("connection").empty());
    CHECK(r.header("keep-alive").empty());
    CHECK(r.header("x-framing") == "none");
  }
  CHECK(client.responses[ids[0]].header("content-length") ==
        std::to_string(client.responses[ids[0]].body.size()));
  // Upstream connections are pooled: far fewer than one per request.
  CHECK(origin.connections() <= 40);
  CHECK(!client.goaway);
}

TEST_CASE("h2c: request bodies are forwarded with the right framing", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  H2Client client(proxy.port());

  SECTION("large body with content-length: larger than the stream and connection windows") {
    std::string body = pattern(6 << 20, 7);
    auto id =
        client.request("POST", "/echo", {{"content-length", std::to_string(body.size())}}, &body);
    REQUIRE(client.wait_response(id, 30s));
    const auto& r = client.responses[id];
    CHECK(r.status == 200);
    CHECK(r.header("x-framing") == "length");
    CHECK(r.body.size() == body.size());
    CHECK(r.body == body);
  }
  SECTION("body without content-length still streaming: chunked upstream") {
    std::string body = pattern(300000, 3);
    // The body follows the headers in later DATA frames; the exchange starts before its end.
    auto id = client.request("PUT", "/echo", {}, &body);
    REQUIRE(client.wait_response(id));
    const auto& r = client.responses[id];
    CHECK(r.status == 200);
    CHECK(r.body == body);
    CHECK((r.header("x-framing") == "chunked" || r.header("x-framing") == "length"));
  }
  SECTION("small complete body without content-length") {
    std::string body = "hello";
    auto id = client.request("POST", "/echo", {}, &body);
    REQUIRE(client.wait_response(id));
    CHECK(client.responses[id].body == "hello");
  }
  SECTION("expect: 100-continue gets an interim response") {
    std::string body = "abc";
    auto id = client.request("POST", "/echo", {{"content-length", "3"}, {"expect", "100-continue"}},
                             &body);
    REQUIRE(client.wait_response(id));
    CHECK(client.responses[id].status == 200);
    CHECK(client.responses[id].body == "abc");
  }
  SECTION("cookie crumbs are joined for HTTP/1.1") {
    auto id = client.request("GET", "/info", {{"cookie", "a=1"}, {"cookie", "b=2"}});
    REQUIRE(client.wait_response(id));
    CHECK(client.responses[id].body.find("cookie: a=1; b=2\n") != std::string::npos);
  }
}

TEST_CASE("h2c: response bodies stream in every upstream framing", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  H2Client client(proxy.port());
  auto big = client.request("GET", "/big/5000000");
  auto until_close = client.request("GET", "/close/200000");
  auto head = client.request("HEAD", "/head");
  auto no_content = client.request("GET", "/status/204");
  auto not_modified = client.request("GET", "/status/304");
  REQUIRE(client.run_until([&] {
    return all_closed(client, {big, until_close, head, no_content, not_modified});
  }));
  CHECK(client.responses[big].status == 200);
  CHECK(client.responses[big].error == 0);
  CHECK(client.responses[big].body == pattern(5000000));
  CHECK(client.responses[big].header("transfer-encoding").empty());
  CHECK(client.responses[until_close].status == 200);
  CHECK(client.responses[until_close].body == pattern(200000));
  CHECK(client.responses[head].status == 200);
  CHECK(client.responses[head].header("content-length") == "100");
  CHECK(client.responses[head].body.empty());
  CHECK(client.responses[no_content].status == 204);
  CHECK(client.responses[not_modified].status == 304);
}

TEST_CASE("h2c: the client's flow control paces a large response", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  // Small windows, and the client consumes DATA only as it is read (nghttp2 default).
  std::vector<nghttp2_settings_entry> settings = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16384}};
  H2Client client(proxy.port(), settings);
  auto id = client.request("GET", "/big/3000000");
  REQUIRE(client.wait_response(id, 30s));
  CHECK(client.responses[id].body == pattern(3000000));
}

TEST_CASE("h2c: errors map to statuses like HTTP/1.1", "[http2]") {
  Origin origin;
  ProxyLimits limits;
  limits.upstream_timeout = std::chrono::milliseconds(300);
  Proxy proxy(origin.port(), limits);
  H2Client client(proxy.port());
  auto unknown = client.request("GET", "/", {}, nullptr, "nobody.test");
  auto down = client.request("GET", "/", {}, nullptr, "down.test");
  auto slow = client.request("GET", "/slow/1500");
  auto connect = client.request("GET", "/ok");  // a normal one alongside
  REQUIRE(client.run_until([&] { return all_closed(client, {unknown, down, slow, connect}); }));
  CHECK(client.responses[unknown].status == 404);
  CHECK(client.responses[unknown].body == "404 page not found\n");
  CHECK(client.responses[down].status == 502);
  CHECK(client.responses[slow].status == 504);
  CHECK(client.responses[connect].status == 404);  // the origin's own 404 is relayed
  CHECK(client.responses[connect].body == "no such path");
  CHECK(!client.goaway);
}

TEST_CASE("h2c: header limits", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  SECTION("too many headers: 431") {
    H2Client client(proxy.port());
    std::vector<std::pair<std::string, std::string>> headers;
    for (int i = 0; i < 150; ++i) headers.push_back({"x-h" + std::to_string(i), "v"});
    auto id = client.request("GET", "/info", headers);
    REQUIRE(client.wait_response(id));
    CHECK(client.responses[id].status == 431);
  }
  SECTION("a header flood (HPACK amplification) ends the connection") {
    H2Client client(proxy.port());
    std::vector<std::pair<std::string, std::string>> headers;
    for (int i = 0; i < 5000; ++i) headers.push_back({"x-flood", std::string(100, 'f')});
    client.request("GET", "/info", headers);
    REQUIRE(client.run_until([&] { return client.goaway && client.eof; }));
    CHECK(client.goaway_code == NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

TEST_CASE("h2c: rapid reset is answered with GOAWAY", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  H2Client client(proxy.port());
  int32_t last = 0;
  for (int round = 0; round < 100 && !client.eof && !client.goaway; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(client.request("GET", "/slow/200"));
    client.flush();
    for (auto id : ids)
      nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    last = ids.back();
    client.pump(0);
  }
  REQUIRE(client.run_until([&] { return client.goaway && client.eof; }));
  INFO("goaway code " << client.goaway_code << " last stream " << client.goaway_last_stream
                      << " of " << last);
  // The server stopped well before the end: the token bucket (burst 200) ran dry.
  CHECK(client.goaway_last_stream > 0);
  CHECK(client.goaway_last_stream < 2 * 400);
}

TEST_CASE("h2c: an empty DATA frame flood is answered with GOAWAY", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  H2Client client(proxy.port());
  auto id = client.request("POST", "/echo", {}, nullptr, "h2.test", true);
  REQUIRE(id > 0);
  client.flush();
  // Hand-made empty DATA frames without END_STREAM (nghttp2 would not send them).
  std::string frames;
  for (int i = 0; i < 500; ++i) {
    char hd[9] = {0, 0, 0, NGHTTP2_DATA, 0, 0, 0, 0, 0};
    hd[8] = static_cast<char>(id);
    frames.append(hd, 9);
  }
  send_all(client.fd(), frames);
  REQUIRE(client.run_until([&] { return client.goaway && client.eof; }));
  CHECK(client.goaway_code == NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_CASE("h2c: HTTP/1.1 is still served on the same listener", "[http2]") {
  Origin origin;
  Proxy proxy(origin.port());
  int fd = connect_loopback(proxy.port());
  REQUIRE(fd >= 0);
  // "P" alone first: the dispatcher must wait to tell POST from the preface.
  REQUIRE(send_all(fd, "P"));
  std::this_thread::sleep_for(20ms);  // separate TCP segments, not synchronisation
  REQUIRE(send_all(
      fd,
      "OST /echo HTTP/1.1\r\nHost: h2.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"));
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  CHECK(in.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(in.substr(in.size() - 2) == "hi");
}

TEST_CASE("h2c: drain and idle timeout say GOAWAY", "[http2]") {
  Origin origin;
  SECTION("drain closes an idle connection") {
    Proxy proxy(origin.port());
    H2Client client(proxy.port());
    auto id = client.request("GET", "/info");
    REQUIRE(client.wait_response(id));
    proxy.worker().begin_drain();
    REQUIRE(client.run_until([&] { return client.goaway && client.eof; }, 5s));
    CHECK(client.goaway_code == NGHTTP2_NO_ERROR);
  }
  SECTION("drain lets a running exchange finish") {
    Proxy proxy(origin.port());
    H2Client client(proxy.port());
    auto id = client.request("GET", "/slow/300");
    REQUIRE(client.run_until([&] { return origin.connections() >= 1; }));  // the exchange runs
    proxy.worker().begin_drain();
    REQUIRE(client.wait_response(id, 5s));
    INFO("error " << client.responses[id].error << " goaway " << client.goaway << " code "
                  << client.goaway_code);
    CHECK(client.responses[id].status == 200);
    CHECK(client.responses[id].body == "slow");
    REQUIRE(client.run_until([&] { return client.eof; }, 5s));
    CHECK(client.goaway);
  }
  SECTION("idle timeout") {
    Proxy proxy(origin.port(), ProxyLimits{}, 300ms);
    H2Client client(proxy.port());
    auto id = client.request("GET", "/info");
    REQUIRE(client.wait_response(id));
    auto start = Clock::now();
    REQUIRE(client.run_until([&] { return client.goaway && client.eof; }, 5s));
    CHECK(Clock::now() - start >= 250ms);
  }
}
