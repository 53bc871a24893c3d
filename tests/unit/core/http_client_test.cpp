#include "core/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace asio = boost::asio;
using asio::awaitable;
using portier::core::HttpClient;
using portier::core::HttpClientOptions;
using portier::core::HttpRequest;
using portier::core::HttpResult;
using portier::core::StreamCanceller;
using local = asio::local::stream_protocol;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

namespace {

std::string temp_socket() {
  char dir[] = "/tmp/portier-http-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string(dir) + "/test.sock";
}

// A scripted server: accepts one connection, records the request head, writes `parts`;
// then either closes (close_after) or waits until the client closes.
struct Script {
  std::vector<std::string> parts;
  bool close_after = true;
  bool silent = false;  // never answers
  std::string request_head;
};

awaitable<void> serve_once(local::acceptor& acceptor, Script& script) {
  auto [aec, socket] = co_await acceptor.async_accept(tok);
  if (aec) co_return;
  asio::streambuf head;
  auto [rec, n] = co_await asio::async_read_until(socket, head, "\r\n\r\n", tok);
  script.request_head.assign(asio::buffers_begin(head.data()), asio::buffers_begin(head.data()) + n);
  if (!script.silent)
    for (auto& part : script.parts) co_await asio::async_write(socket, asio::buffer(part), tok);
  if (!script.close_after || script.silent) {
    char byte;
    co_await socket.async_read_some(asio::buffer(&byte, 1), tok);  // until the client closes
  }
}

struct Fixture {
  asio::io_context ioc;
  std::string path = temp_socket();
  local::acceptor acceptor{ioc, local::endpoint(path)};
  ~Fixture() {
    std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  }
  template <class F>
  HttpResult run(Script& script, F client_side) {
    HttpResult result;
    asio::co_spawn(ioc, serve_once(acceptor, script), asio::detached);
    asio::co_spawn(ioc, [&]() -> awaitable<void> { result = co_await client_side(); }, asio::detached);
    ioc.run();
    return result;
  }
};

}  // namespace

TEST_CASE("http client: request over a unix socket", "[http]") {
  Fixture f;
  Script script;
  script.parts = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]"};
  HttpClient client(f.ioc.get_executor(), "unix://" + f.path);
  HttpRequest request;
  request.target = "/containers/json";
  request.headers = {{"X-Test", "1"}};
  auto result = f.run(script, [&]() -> awaitable<HttpResult> {
    co_return co_await client.request(request);
  });
  REQUIRE(result.ok());
  CHECK(result.response.status == 200);
  CHECK(result.response.body == "[1,2,3]");
  CHECK(result.response.header("content-type") == "application/json");
  CHECK(script.request_head.rfind("GET /containers/json HTTP/1.1\r\n", 0) == 0);
  CHECK(script.request_head.find("X-Test: 1\r\n") != std::string::npos);
  CHECK(script.request_head.find("Host: localhost\r\n") != std::string::npos);
}

TEST_CASE("http client: request over tcp with a chunked body", "[http]") {
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = acceptor.local_endpoint().port();
  HttpResult result;
  asio::co_spawn(ioc, [&]() -> awaitable<void> {
    auto [ec, socket] = co_await acceptor.async_accept(tok);
    asio::streambuf head;
    co_await asio::async_read_until(socket, head, "\r\n\r\n", tok);
    std::string reply = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(reply), tok);
  }, asio::detached);
  HttpClient client(ioc.get_executor(), "tcp://127.0.0.1:" + std::to_string(port));
  asio::co_spawn(ioc, [&]() -> awaitable<void> { result = co_await client.request(HttpRequest()); }, asio::detached);
  ioc.run();
  REQUIRE(result.ok());
  CHECK(result.response.status == 404);
  CHECK(result.response.body == "abcde");
}

TEST_CASE("http client: a silent server times out", "[http]") {
  Fixture f;
  Script script;
  script.silent = true;
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(150);
  HttpClient client(f.ioc.get_executor(), "unix://" + f.path, options);
  auto result = f.run(script, [&]() -> awaitable<HttpResult> { co_return co_await client.request(HttpRequest()); });
  CHECK_FALSE(result.ok());
  CHECK(result.error.find("timeout") != std::string::npos);
}

TEST_CASE("http client: connect failure is an error, not an exception", "[http]") {
  asio::io_context ioc;
  HttpClient client(ioc.get_executor(), "unix:///nonexistent/portier.sock");
  HttpResult result;
  asio::co_spawn(ioc, [&]() -> awaitable<void> { result = co_await client.request(HttpRequest()); }, asio::detached);
  ioc.run();
  CHECK_FALSE(result.ok());
  CHECK(result.error.find("connect unix:///nonexistent/portier.sock") == 0);
}

TEST_CASE("http client: bad endpoints are rejected", "[http]") {
  portier::core::HttpEndpoint ep;
  CHECK(portier::core::HttpEndpoint::parse("unix:///run/docker.sock", ep).empty());
  CHECK(ep.path == "/run/docker.sock");
  CHECK(portier::core::HttpEndpoint::parse("tcp://10.0.0.1:2376", ep).empty());
  CHECK(ep.host == "10.0.0.1");
  CHECK(ep.port == "2376");
  CHECK(portier::core::HttpEndpoint::parse("tcp://[::1]:2375", ep).empty());
  CHECK(ep.host == "::1");
  CHECK_FALSE(portier::core::HttpEndpoint::parse("unix://relative.sock", ep).empty());
  CHECK_FALSE(portier::core::HttpEndpoint::parse("ftp://x", ep).empty());
  CHECK_FALSE(portier::core::HttpEndpoint::parse("tcp://host:12x", ep).empty());
}

TEST_CASE("http client: streaming delivers chunks as they come and stops on cancel", "[http]") {
  Fixture f;
  Script script;
  script.parts = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\na\n\r\n", "2\r\nb\n\r\n"};
  script.close_after = false;  // a live /events stream never ends by itself
  HttpClient client(f.ioc.get_executor(), "unix://" + f.path);
  StreamCanceller canceller;
  std::string data;
  auto result = f.run(script, [&]() -> awaitable<HttpResult> {
    co_return co_await client.stream(HttpRequest(), [&](std::string_view d) {
      data += d;
      if (data == "a\nb\n") canceller.cancel();
    }, &canceller);
  });
  CHECK(result.response.status == 200);
  CHECK(data == "a\nb\n");
  CHECK_FALSE(result.ok());
}

TEST_CASE("http client: streaming reports the server going away", "[http]") {
  Fixture f;
  Script script;
  script.parts = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3\r\nxyz\r\n"};
  HttpClient client(f.ioc.get_executor(), "unix://" + f.path);
  std::string data;
  auto result = f.run(script, [&]() -> awaitable<HttpResult> {
    co_return co_await client.stream(HttpRequest(), [&](std::string_view d) { data += d; });
  });
  CHECK(data == "xyz");
  CHECK(result.error == "end of stream");
}

// A canceller outlives its stream, however the stream's call ended: the old canceller kept a
// reference to the stream and read it after the stream was freed (heap-use-after-free at
// shutdown, e2e.test_shutdown_churn under ASan).
TEST_CASE("http client: a canceller is a no-op after the stream's call threw", "[http]") {
  Fixture f;
  Script script;
  script.parts = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\na\n\r\n"};
  script.close_after = false;
  HttpClient client(f.ioc.get_executor(), "unix://" + f.path);
  StreamCanceller canceller;
  bool threw = false;
  asio::co_spawn(f.ioc, serve_once(f.acceptor, script), asio::detached);
  asio::co_spawn(f.ioc, [&]() -> awaitable<void> {
    co_await client.stream(HttpRequest(), [](std::string_view) { throw std::runtime_error("consumer failed"); },
                           &canceller);
  }, [&](std::exception_ptr e) { threw = e != nullptr; });
  f.ioc.run();
  CHECK(threw);
  CHECK(canceller);
  canceller.cancel();  // the stream is gone: nothing to close
}

TEST_CASE("http client: a canceller is a no-op after the stream's frame was destroyed", "[http]") {
  std::string path = temp_socket();
  StreamCanceller canceller;
  std::string data;
  {
    asio::io_context ioc;
    local::acceptor acceptor{ioc, local::endpoint(path)};
    HttpClient client(ioc.get_executor(), "unix://" + path);
    Script script;
    script.parts = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "2\r\na\n\r\n"};
    script.close_after = false;
    asio::co_spawn(ioc, serve_once(acceptor, script), asio::detached);
    asio::co_spawn(ioc, [&]() -> awaitable<void> {
      co_await client.stream(HttpRequest(), [&](std::string_view d) {
        data += d;
        ioc.stop();  // both frames stay suspended, then die with the io_context
      }, &canceller);
    }, asio::detached);
    ioc.run();
  }
  CHECK(data == "a\n");
  CHECK(canceller);
  canceller.cancel();
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}
