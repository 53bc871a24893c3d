#include <catch2/catch.hpp>

#include <random>

#include "tls/client_hello.hpp"
#include "tls_test_util.hpp"

using namespace portier::tls;

namespace {

using Bytes = std::vector<uint8_t>;

// The first flight of a real OpenSSL client.
Bytes real_client_hello(const std::string& sni, const std::string& alpn_wire, int max_version = 0) {
  SslCtxPtr ctx = test::client_ctx(0, max_version);
  SslPtr ssl(SSL_new(ctx.get()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);
  SSL_set_connect_state(ssl.get());
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (!alpn_wire.empty())
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned>(alpn_wire.size()));
  SSL_do_handshake(ssl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  return Bytes(data, data + n);
}

// Re-frames the handshake bytes of a single-record hello into records of `chunk` bytes.
Bytes split_records(const Bytes& hello, size_t chunk) {
  Bytes body(hello.begin() + 5, hello.end());
  Bytes out;
  for (size_t at = 0; at < body.size(); at += chunk) {
    size_t n = std::min(chunk, body.size() - at);
    out.insert(out.end(), {0x16, 0x03, 0x01, uint8_t(n >> 8), uint8_t(n)});
    out.insert(out.end(), body.begin() + at, body.begin() + at + n);
  }
  return out;
}

HelloStatus parse(const Bytes& b, ClientHelloInfo& info) { return parse_client_hello(b, info); }

}  // namespace

TEST_CASE("ClientHello: SNI and ALPN from a real OpenSSL client") {
  Bytes hello = real_client_hello("App.Example.COM", std::string("\x02h2\x08http/1.1", 12));
  REQUIRE(hello.size() > 100);
  REQUIRE(hello[0] == 0x16);
  ClientHelloInfo info;
  REQUIRE(parse(hello, info) == HelloStatus::ok);
  CHECK(info.sni == "app.example.com");
  CHECK(info.alpn == std::vector<std::string>{"h2", "http/1.1"});

  SECTION("with extra bytes after the hello") {
    hello.insert(hello.end(), {0x17, 0x03, 0x03, 0x00});
    ClientHelloInfo again;
    CHECK(parse(hello, again) == HelloStatus::ok);
    CHECK(again.sni == "app.example.com");
  }
}

TEST_CASE("ClientHello: without SNI and ALPN, and a TLS 1.2-only client") {
  ClientHelloInfo info;
  info.sni = "stale";
  REQUIRE(parse(real_client_hello("", ""), info) == HelloStatus::ok);
  CHECK(info.sni.empty());
  CHECK(info.alpn.empty());

  ClientHelloInfo old;
  REQUIRE(parse(real_client_hello("legacy.example.com", "", TLS1_2_VERSION), old) == HelloStatus::ok);
  CHECK(old.sni == "legacy.example.com");
}

TEST_CASE("ClientHello: fed one byte at a time, every prefix asks for more") {
  Bytes hello = real_client_hello("byte.example.com", std::string("\x08http/1.1", 9));
  ClientHelloInfo info;
  for (size_t n = 0; n < hello.size(); ++n) {
    Bytes prefix(hello.begin(), hello.begin() + n);
    auto status = parse(prefix, info);
    if (status != HelloStatus::need_more) FAIL("prefix of " << n << " bytes gave " << int(status));
  }
  CHECK(info.sni.empty());  // untouched until ok
  REQUIRE(parse(hello, info) == HelloStatus::ok);
  CHECK(info.sni == "byte.example.com");
  CHECK(info.alpn == std::vector<std::string>{"http/1.1"});
}

TEST_CASE("ClientHello: split across records") {
  Bytes hello = real_client_hello("split.example.com", std::string("\x02h2", 3));
  for (size_t chunk : {size_t(100), size_t(7), size_t(1)}) {
    CAPTURE(chunk);
    Bytes split = split_records(hello, chunk);
    ClientHelloInfo info;
    REQUIRE(parse(split, info) == HelloStatus::ok);
    CHECK(info.sni == "split.example.com");
    CHECK(info.alpn == std::vector<std::string>{"h2"});
    Bytes cut(split.begin(), split.end() - 1);
    CHECK(parse(cut, info) == HelloStatus::need_more);
  }
}

TEST_CASE("ClientHello: not TLS, malformed, oversized") {
  ClientHelloInfo info;
  auto text = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  CHECK(parse(text("GET / HTTP/1.1\r\n\r\n"), info) == HelloStatus::not_tls);
  CHECK(parse(text("EHLO x"), info) == HelloStatus::not_tls);
  CHECK(parse(Bytes{0x16, 0x02}, info) == HelloStatus::not_tls);
  CHECK(parse(Bytes{0x80, 0x2e, 0x01}, info) == HelloStatus::not_tls);  // SSLv2-style hello
  CHECK(parse(Bytes{}, info) == HelloStatus::need_more);
  CHECK(parse(Bytes{0x16}, info) == HelloStatus::need_more);
  CHECK(parse(Bytes{0x16, 0x03, 0x01, 0x00, 0x00}, info) == HelloStatus::invalid);  // empty record
  CHECK(parse(Bytes{0x16, 0x03, 0x01, 0x48, 0x01}, info) == HelloStatus::invalid);  // record > limit
  CHECK(parse(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00}, info) == HelloStatus::invalid);
  CHECK(parse(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00}, info) == HelloStatus::invalid);
  // An empty ClientHello body.
  CHECK(parse(Bytes{0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00}, info) == HelloStatus::invalid);

  Bytes hello = real_client_hello("x.example.com", "");
  Bytes padded = hello;
  padded.insert(padded.begin() + 5 + 10, 0);  // body now longer than its length fields say
  padded[3] = uint8_t((hello.size() - 4) >> 8);
  padded[4] = uint8_t(hello.size() - 4);
  CHECK(parse(padded, info) != HelloStatus::ok);
  Bytes mixed = split_records(hello, 50);
  mixed[55] = 0x17;  // second record is application data
  CHECK(parse(mixed, info) == HelloStatus::invalid);
}

TEST_CASE("ClientHello: random mutations never crash or read out of bounds") {
  Bytes hello = real_client_hello("fuzz.example.com", std::string("\x02h2\x08http/1.1", 12));
  std::mt19937 rng(12345);
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = i % 2 ? hello : split_records(hello, 1 + rng() % 64);
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = uint8_t(rng());
    if (i % 3 == 0) b.resize(rng() % b.size());
    ClientHelloInfo info;
    // Copy to an exactly-sized heap buffer so a sanitizer build would catch overreads.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[b.size() + 1]);
    std::copy(b.begin(), b.end(), exact.get());
    if (parse_client_hello({exact.get(), b.size()}, info) == HelloStatus::ok) {
      ++ok;
      CHECK(info.sni.size() <= 255);
    }
  }
  CHECK(ok > 0);  // flips in the random field or cipher list still parse
}
