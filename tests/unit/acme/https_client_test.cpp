// core::HttpClient over https:// (used for the CA and the Cloudflare API): chain and name
// verification against extra root files. Lives with the acme tests for tls/self_signed.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <filesystem>

#include "core/atomic_file.hpp"
#include "core/http_client.hpp"
#include "tls/self_signed.hpp"

using namespace portier;
namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

namespace {

struct Pki {
  std::string ca_pem, leaf_pem, key_pem, other_ca_pem;
};

Pki make_pki(const std::vector<std::string>& names) {
  std::string error;
  auto ca_key = tls::generate_key(tls::KeyKind::ec_p256, error);
  tls::CertRequest ca_req;
  ca_req.common_name = "test root";
  ca_req.is_ca = true;
  auto ca = tls::make_certificate(ca_key.get(), ca_req, error);
  auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
  tls::CertRequest leaf_req;
  leaf_req.common_name = names.front();
  leaf_req.dns_names = names;
  leaf_req.issuer_cert = ca.get();
  leaf_req.issuer_key = ca_key.get();
  auto leaf = tls::make_certificate(key.get(), leaf_req, error);
  REQUIRE(leaf);
  auto other_key = tls::generate_key(tls::KeyKind::ec_p256, error);
  ca_req.common_name = "another root";
  auto other = tls::make_certificate(other_key.get(), ca_req, error);
  return {tls::to_pem(ca.get()), tls::to_pem(leaf.get()), tls::to_pem(key.get()), tls::to_pem(other.get())};
}

asio::awaitable<void> serve_one(tcp::acceptor& acceptor, asio::ssl::context& ctx) {
  auto [aec, socket] = co_await acceptor.async_accept(tok);
  if (aec) co_return;
  asio::ssl::stream<tcp::socket> s(std::move(socket), ctx);
  auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::server, tok);
  if (hec) co_return;
  asio::streambuf head;
  co_await asio::async_read_until(s, head, "\r\n\r\n", tok);
  std::string request(asio::buffers_begin(head.data()), asio::buffers_end(head.data()));
  std::string body = request.substr(0, request.find("\r\n"));
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
  co_await asio::async_write(s, asio::buffer(response), tok);
  co_await s.async_shutdown(tok);
}

struct Server {
  asio::io_context ioc;
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::string dir;
  std::string ca_file, other_ca_file;

  explicit Server(const std::vector<std::string>& names) {
    Pki pki = make_pki(names);
    ctx.use_certificate_chain(asio::buffer(pki.leaf_pem));
    ctx.use_private_key(asio::buffer(pki.key_pem), asio::ssl::context::pem);
    char tmpl[] = "/tmp/portier-https-XXXXXX";
    dir = mkdtemp(tmpl);
    ca_file = dir + "/ca.pem";
    other_ca_file = dir + "/other.pem";
    core::write_file_atomic(ca_file, pki.ca_pem);
    core::write_file_atomic(other_ca_file, pki.other_ca_pem);
  }
  ~Server() { std::filesystem::remove_all(dir); }
  unsigned short port() const { return acceptor.local_endpoint().port(); }

  core::HttpResult get(const std::string& url, std::vector<std::string> cas) {
    asio::co_spawn(ioc, serve_one(acceptor, ctx), asio::detached);
    core::HttpClientOptions opt;
    opt.extra_ca_files = std::move(cas);
    opt.system_roots = false;
    core::HttpClient client(ioc.get_executor(), url, opt);
    core::HttpRequest req;
    req.target = "/hello";
    auto fut = asio::co_spawn(ioc, client.request(req), asio::use_future);
    ioc.run_for(std::chrono::seconds(10));
    ioc.restart();
    acceptor.cancel();
    ioc.run_for(std::chrono::seconds(1));
    ioc.restart();
    return fut.get();
  }
};

}  // namespace

// (IP-address verification is exercised by the pebble tests: pebble's certificate has
// IP:127.0.0.1, which tls::make_certificate cannot produce.)
TEST_CASE("https: trusted through an extra root file, base path prefixed") {
  Server server({"localhost"});
  auto r = server.get("https://localhost:" + std::to_string(server.port()) + "/base", {server.ca_file});
  REQUIRE(r.ok());
  CHECK(r.response.status == 200);
  CHECK(r.response.body == "GET /base/hello HTTP/1.1");  // base path prefixed
}

TEST_CASE("https: DNS name verified and sent as SNI") {
  Server server({"localhost"});
  auto r = server.get("https://localhost:" + std::to_string(server.port()), {server.ca_file});
  REQUIRE(r.ok());
  CHECK(r.response.status == 200);
}

TEST_CASE("https: an unknown issuer fails the handshake with the reason") {
  Server server({"localhost"});
  auto r = server.get("https://localhost:" + std::to_string(server.port()), {server.other_ca_file});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error, Catch::Contains("TLS handshake"));
  CHECK_THAT(r.error, Catch::Contains("unable to get local issuer certificate"));
}

TEST_CASE("https: a name mismatch fails") {
  Server server({"other.example"});
  auto r = server.get("https://localhost:" + std::to_string(server.port()), {server.ca_file});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error, Catch::Contains("hostname mismatch"));
  Server by_ip({"other.example"});
  auto ip = by_ip.get("https://127.0.0.1:" + std::to_string(by_ip.port()), {by_ip.ca_file});
  REQUIRE_FALSE(ip.ok());
  CHECK_THAT(ip.error, Catch::Contains("IP address mismatch"));
}

TEST_CASE("https: an unreadable CA file is reported by the client") {
  asio::io_context ioc;
  core::HttpClientOptions opt;
  opt.extra_ca_files = {"/nonexistent/ca.pem"};
  core::HttpClient client(ioc.get_executor(), "https://127.0.0.1:1", opt);
  CHECK_THAT(client.error(), Catch::Contains("/nonexistent/ca.pem"));
  core::HttpEndpoint ep;
  CHECK(core::HttpEndpoint::parse("https://api.cloudflare.com/client/v4", ep).empty());
  CHECK(ep.tls);
  CHECK(ep.port == "443");
  CHECK(ep.host == "api.cloudflare.com");
  CHECK(ep.base_path == "/client/v4");
  CHECK(core::HttpEndpoint::parse("http://127.0.0.1/x/", ep).empty());
  CHECK(ep.port == "80");
  CHECK(ep.base_path == "/x");
}
