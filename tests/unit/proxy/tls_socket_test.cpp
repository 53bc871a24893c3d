// TlsSocket against a real OpenSSL client (asio::ssl::stream) over loopback, both on one
// io_context: records both ways, a response head and body in one record, bytes OpenSSL holds
// after a short read, backpressure, close_notify, a truncated stream and cancellation.
#include <catch2/catch.hpp>

#include <algorithm>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "proxy/tls_socket.hpp"
#include "tls/self_signed.hpp"

using namespace portier;
using namespace portier::proxy;
using namespace std::chrono_literals;

namespace {

using Client = asio::ssl::stream<tcp::socket>;

struct Fixture {
  asio::io_context ioc{1};
  asio::ssl::context client_ctx{asio::ssl::context::tls_client};
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};

  Fixture() {
    std::string error;
    auto key = tls::generate_key(tls::KeyKind::ec_p256, error);
    auto cert = tls::make_certificate(key.get(), {.common_name = "test.local", .dns_names = {"test.local"}}, error);
    REQUIRE(cert);
    REQUIRE(SSL_CTX_use_certificate(server_ctx, cert.get()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(server_ctx, key.get()) == 1);
    SSL_CTX_set_mode(server_ctx, SSL_MODE_RELEASE_BUFFERS);  // as tls::ServerContext
    client_ctx.set_verify_mode(asio::ssl::verify_none);
  }
  ~Fixture() { SSL_CTX_free(server_ctx); }

  // Connects a client, runs both handshakes, then `server` and `client` side by side.
  template <class S, class C>
  void run(S server, C client) {
    using namespace boost::asio::experimental::awaitable_operators;
    bool finished = false;
    auto both = [&]() -> awaitable<void> {
      Client c(ioc, client_ctx);
      co_await c.next_layer().async_connect(acceptor.local_endpoint(), use_tuple);
      auto [aec, accepted] = co_await acceptor.async_accept(use_tuple);
      REQUIRE(!aec);
      TlsSocket s(std::move(accepted), server_ctx);
      auto server_hs = [&]() -> awaitable<void> {
        auto [ec] = co_await s.async_handshake(use_tuple);
        REQUIRE(!ec);
      };
      auto client_hs = [&]() -> awaitable<void> {
        auto [ec] = co_await c.async_handshake(asio::ssl::stream_base::client, use_tuple);
        REQUIRE(!ec);
      };
      co_await (server_hs() && client_hs());
      co_await (server(s) && client(c));
      finished = true;
    };
    asio::co_spawn(ioc, both(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    ioc.run_for(10s);
    CHECK(finished);
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace

TEST_CASE("TlsSocket: a request in, a head and body out as one record", "[tls]") {
  Fixture f;
  std::string body = pattern(1024);
  f.run(
      [&](TlsSocket& s) -> awaitable<void> {
        char buf[64];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        CHECK(!ec);
        CHECK(std::string_view(buf, n) == "GET / HTTP/1.1\r\n\r\n");
        std::string head = "HTTP/1.1 200 OK\r\n\r\n";
        std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
        auto [wec, written] = co_await s.async_write_some(bufs, use_tuple);
        CHECK(!wec);
        CHECK(written == head.size() + body.size());  // one call, one record
      },
      [&](Client& c) -> awaitable<void> {
        co_await asio::async_write(c, asio::buffer(std::string_view("GET / HTTP/1.1\r\n\r\n")), use_tuple);
        std::string got(19 + body.size(), '\0');
        auto [ec, n] = co_await asio::async_read(c, asio::buffer(got), use_tuple);
        CHECK(!ec);
        CHECK(got == "HTTP/1.1 200 OK\r\n\r\n" + body);
      });
}

TEST_CASE("TlsSocket: bytes OpenSSL holds after a short read are read without socket data", "[tls]") {
  Fixture f;
  f.run(
      [&](TlsSocket& s) -> awaitable<void> {
        std::string got;
        char buf[4];
        while (got.size() < 12) {  // the socket is drained after the first read
          auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
          REQUIRE(!ec);
          got.append(buf, n);
        }
        CHECK(got == "aaaabbbbcccc");
        co_await asio::async_write(s, asio::buffer(std::string_view("done")), use_tuple);
      },
      [&](Client& c) -> awaitable<void> {
        co_await asio::async_write(c, asio::buffer(std::string_view("aaaabbbbcccc")), use_tuple);
        char buf[4];
        auto [ec, n] = co_await asio::async_read(c, asio::buffer(buf), use_tuple);
        CHECK(std::string_view(buf, n) == "done");
      });
}

TEST_CASE("TlsSocket: a large write waits for the reader (backpressure) and arrives whole", "[tls]") {
  Fixture f;
  std::string big = pattern(8 << 20);
  asio::steady_timer later(f.ioc);
  f.run(
      [&](TlsSocket& s) -> awaitable<void> {
        auto [ec, n] = co_await asio::async_write(s, asio::buffer(big), use_tuple);
        CHECK(!ec);
        CHECK(n == big.size());
      },
      [&](Client& c) -> awaitable<void> {
        later.expires_after(200ms);  // the socket buffers fill first
        co_await later.async_wait(use_tuple);
        std::string got(big.size(), '\0');
        auto [ec, n] = co_await asio::async_read(c, asio::buffer(got), use_tuple);
        CHECK(!ec);
        CHECK(n == big.size());
        auto diff = std::mismatch(got.begin(), got.end(), big.begin());
        CHECK(diff.first - got.begin() == static_cast<ptrdiff_t>(big.size()));  // no byte differs
      });
}

TEST_CASE("TlsSocket: close_notify both ways; EOF without it is a truncated stream", "[tls]") {
  Fixture f;
  SECTION("the client's close_notify reads as eof; ours reaches the client") {
    f.run(
        [&](TlsSocket& s) -> awaitable<void> {
          char buf[16];
          auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
          CHECK(ec == asio::error::eof);
          auto [sec] = co_await s.async_shutdown(use_tuple);  // the peer's was received
          CHECK(!sec);
        },
        [&](Client& c) -> awaitable<void> {
          auto [ec] = co_await c.async_shutdown(use_tuple);  // sends, then reads the server's
          CHECK(!ec);
        });
  }
  SECTION("a TCP close without close_notify") {
    f.run(
        [&](TlsSocket& s) -> awaitable<void> {
          char buf[16];
          auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
          CHECK(ec == asio::ssl::error::stream_truncated);
        },
        [&](Client& c) -> awaitable<void> {
          c.next_layer().close();
          co_return;
        });
  }
}

TEST_CASE("TlsSocket: cancelling the socket aborts a pending read", "[tls]") {
  Fixture f;
  asio::steady_timer later(f.ioc);
  TlsSocket* server = nullptr;
  f.run(
      [&](TlsSocket& s) -> awaitable<void> {
        server = &s;
        char buf[16];
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
        CHECK(ec == asio::error::operation_aborted);
      },
      [&](Client&) -> awaitable<void> {
        later.expires_after(50ms);
        co_await later.async_wait(use_tuple);
        server->next_layer().cancel();  // as the Watchdog does
      });
}
