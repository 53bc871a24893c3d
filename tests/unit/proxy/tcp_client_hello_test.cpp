#include <catch2/catch.hpp>

#include "proxy/client_hello_peek.hpp"
#include "tcp_test_util.hpp"

using namespace portier::proxy;
using detail::ClientHelloInfo;
using detail::HelloStatus;
using detail::parse_client_hello;

namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Re-frames a single-record ClientHello into records of at most `chunk` payload bytes.
std::string split_records(const std::string& hello, size_t chunk) {
  std::string payload = hello.substr(5);
  std::string out;
  for (size_t off = 0; off < payload.size(); off += chunk) {
    std::string part = payload.substr(off, chunk);
    out += std::string{'\x16', '\x03', '\x01', static_cast<char>(part.size() >> 8), static_cast<char>(part.size() & 0xff)};
    out += part;
  }
  return out;
}

}  // namespace

TEST_CASE("ClientHello parser reads SNI and ALPN from a real OpenSSL ClientHello", "[tcp][hello]") {
  std::string hello = test::client_hello("Api.Example.COM", {"h2", "http/1.1"});
  ClientHelloInfo info;
  REQUIRE(parse_client_hello(bytes(hello), info) == HelloStatus::complete);
  CHECK(info.sni == "api.example.com");
  CHECK(info.alpn == std::vector<std::string>{"h2", "http/1.1"});
}

TEST_CASE("ClientHello parser without SNI or ALPN", "[tcp][hello]") {
  std::string hello = test::client_hello("");
  ClientHelloInfo info;
  REQUIRE(parse_client_hello(bytes(hello), info) == HelloStatus::complete);
  CHECK(info.sni.empty());
  CHECK(info.alpn.empty());
}

TEST_CASE("ClientHello parser asks for exactly the missing bytes of every prefix", "[tcp][hello]") {
  std::string hello = test::client_hello("a.example");
  for (size_t n = 0; n < hello.size(); ++n) {
    ClientHelloInfo info;
    INFO("prefix " << n);
    REQUIRE(parse_client_hello(bytes(hello.substr(0, n)), info) == HelloStatus::incomplete);
    CHECK(info.needed > n);
    CHECK(info.needed <= hello.size());
  }
}

TEST_CASE("ClientHello split across several TLS records", "[tcp][hello]") {
  std::string hello = split_records(test::client_hello("multi.example", {"imap"}), 50);
  ClientHelloInfo info;
  REQUIRE(parse_client_hello(bytes(hello), info) == HelloStatus::complete);
  CHECK(info.sni == "multi.example");
  CHECK(info.alpn == std::vector<std::string>{"imap"});
  ClientHelloInfo partial;
  CHECK(parse_client_hello(bytes(hello.substr(0, 60)), partial) == HelloStatus::incomplete);
}

TEST_CASE("ClientHello parser rejects garbage", "[tcp][hello]") {
  ClientHelloInfo info;
  CHECK(parse_client_hello(bytes("GET / HTTP/1.1\r\n"), info) == HelloStatus::not_tls);
  CHECK(parse_client_hello(bytes("EHLO x\r\n"), info) == HelloStatus::not_tls);
  CHECK(parse_client_hello(bytes(std::string("\x16\x07", 2)), info) == HelloStatus::not_tls);
  // Handshake record, but not a ClientHello (type 2 = ServerHello).
  std::string wrong = std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9);
  CHECK(parse_client_hello(bytes(wrong), info) == HelloStatus::malformed);
  // Zero-length record.
  CHECK(parse_client_hello(bytes(std::string("\x16\x03\x01\x00\x00", 5)), info) == HelloStatus::malformed);
  // Truncated body inside a complete record.
  std::string hello = test::client_hello("x.example");
  std::string body_cut = hello.substr(0, 60);
  body_cut[3] = 0;
  body_cut[4] = 55;  // record claims 55 bytes, handshake header claims more, the next "record" is missing
  CHECK(parse_client_hello(bytes(body_cut), info) == HelloStatus::incomplete);
  // Corrupt every byte after the record header in turn: never crashes, never reads out of bounds.
  for (size_t i = 5; i < hello.size(); ++i) {
    std::string bad = hello;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    ClientHelloInfo any;
    (void)parse_client_hello(bytes(bad), any);
  }
}
