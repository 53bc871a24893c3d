#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "proxy/proxy_header.hpp"

using namespace portier::proxy;
using Status = ProxyHeader::Status;

namespace {

ProxyHeader parse(std::string_view bytes) {
  return parse_proxy_header(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

const std::string kV2Sig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string v2(uint8_t command, uint8_t family, std::string payload) {
  std::string out = kV2Sig;
  out += static_cast<char>(command);
  out += static_cast<char>(family);
  out += static_cast<char>(payload.size() >> 8);
  out += static_cast<char>(payload.size() & 0xff);
  return out + payload;
}

const std::string kInet4Block("\xc6\x33\x64\x07" "\xcb\x00\x71\x01" "\xc8\x22" "\x01\xbb", 12);

}  // namespace

TEST_CASE("PROXY v1 header: TCP4 and TCP6 name the client; the bytes after it are not part of it") {
  auto h = parse("PROXY TCP4 198.51.100.7 203.0.113.1 51234 443\r\nGET / HTTP/1.1\r\n");
  REQUIRE(h.status == Status::complete);
  CHECK(h.length == 47);
  REQUIRE(h.source);
  CHECK(h.source->address().to_string() == "198.51.100.7");
  CHECK(h.source->port() == 51234);

  h = parse("PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n");
  REQUIRE(h.status == Status::complete);
  CHECK(h.source->address().to_string() == "2001:db8::7");

  h = parse("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n");
  CHECK(h.status == Status::complete);
  CHECK_FALSE(h.source);
}

TEST_CASE("PROXY v1 header: partial lines wait, broken ones are invalid") {
  CHECK(parse("PRO").status == Status::incomplete);
  auto h = parse("PROXY TCP4 198.51.100.7 ");
  CHECK(h.status == Status::incomplete);
  CHECK(h.needed > 24);
  CHECK(parse("PROXY TCP4 198.51.100.7 203.0.113.1 51234 70000\r\n").status == Status::invalid);
  CHECK(parse("PROXY TCP4 2001:db8::7 203.0.113.1 1 2\r\n").status == Status::invalid);
  CHECK(parse("PROXY TCP4 198.51.100.7 203.0.113.1 1\r\n").status == Status::invalid);
  CHECK(parse("PROXY TCP5 198.51.100.7 203.0.113.1 1 2\r\n").status == Status::invalid);
  CHECK(parse("PROXY TCP4 198.51.100.7 203.0.113.1 1 2\n").status == Status::invalid);
  CHECK(parse("PROXY " + std::string(120, 'x')).status == Status::invalid);
}

TEST_CASE("PROXY header absent: HTTP/1.1, the h2 preface and a ClientHello start with other bytes") {
  CHECK(parse("GET / HTTP/1.1\r\n").status == Status::absent);
  CHECK(parse("POST /").status == Status::absent);
  CHECK(parse("PRI * HTTP/2.0\r\n").status == Status::absent);
  CHECK(parse("\x16\x03\x01").status == Status::absent);
  CHECK(parse("\r\nX").status == Status::absent);
}

TEST_CASE("PROXY v2 header: INET and INET6 name the client, TLVs are skipped, LOCAL names none") {
  auto h = parse(v2(0x21, 0x11, kInet4Block) + "\x16\x03\x01");
  REQUIRE(h.status == Status::complete);
  CHECK(h.length == 28);
  REQUIRE(h.source);
  CHECK(h.source->address().to_string() == "198.51.100.7");
  CHECK(h.source->port() == 0xc822);

  h = parse(v2(0x21, 0x11, kInet4Block + std::string("\x04\x00\x02\x00\x00", 5)));
  REQUIRE(h.status == Status::complete);
  CHECK(h.length == 33);

  std::string inet6(36, '\0');
  inet6[0] = '\x20', inet6[1] = '\x01', inet6[15] = '\x07', inet6[33] = '\x50';
  h = parse(v2(0x21, 0x21, inet6));
  REQUIRE(h.status == Status::complete);
  CHECK(h.source->address().to_string() == "2001::7");
  CHECK(h.source->port() == 80);

  h = parse(v2(0x20, 0x00, ""));
  CHECK(h.status == Status::complete);
  CHECK_FALSE(h.source);
  h = parse(v2(0x21, 0x31, std::string(216, 'a')));
  CHECK(h.status == Status::complete);
  CHECK_FALSE(h.source);
}

TEST_CASE("PROXY v2 header: wrong version, command, family or length is invalid; a cut one waits") {
  CHECK(parse(v2(0x11, 0x11, kInet4Block)).status == Status::invalid);
  CHECK(parse(v2(0x22, 0x11, kInet4Block)).status == Status::invalid);
  CHECK(parse(v2(0x21, 0x41, kInet4Block)).status == Status::invalid);
  CHECK(parse(v2(0x21, 0x00, "")).status == Status::invalid);  // UNSPEC needs LOCAL
  CHECK(parse(v2(0x21, 0x21, kInet4Block)).status == Status::invalid);  // too short for INET6
  CHECK(parse(v2(0x21, 0x11, kInet4Block + std::string(4096, 'x'))).status == Status::invalid);
  auto whole = v2(0x21, 0x11, kInet4Block);
  for (size_t cut = 1; cut < whole.size(); ++cut) {
    auto h = parse(whole.substr(0, cut));
    REQUIRE(h.status == Status::incomplete);
    CHECK(h.needed > cut);
  }
}

TEST_CASE("write_proxy_header v1: the text line HAProxy documents, read back by the parser") {
  tcp::endpoint src(asio::ip::make_address("198.51.100.7"), 51234), dst(asio::ip::make_address("203.0.113.1"), 443);
  std::string h = write_proxy_header(1, src, dst);
  CHECK(h == "PROXY TCP4 198.51.100.7 203.0.113.1 51234 443\r\n");
  auto parsed = parse(h + "payload");
  REQUIRE(parsed.status == Status::complete);
  CHECK(parsed.length == h.size());
  CHECK(*parsed.source == src);
}

TEST_CASE("write_proxy_header v2: signature, PROXY command, INET addresses and ports") {
  tcp::endpoint src(asio::ip::make_address("198.51.100.7"), 51234), dst(asio::ip::make_address("203.0.113.1"), 443);
  std::string h = write_proxy_header(2, src, dst);
  const std::string expected = v2(0x21, 0x11, std::string("\xc6\x33\x64\x07" "\xcb\x00\x71\x01" "\xc8\x22" "\x01\xbb", 12));
  CHECK(h == expected);
  auto parsed = parse(h);
  REQUIRE(parsed.status == Status::complete);
  CHECK(parsed.length == 28);
  CHECK(*parsed.source == src);
}

TEST_CASE("write_proxy_header: IPv6, and v4-mapped addresses as IPv4 or mapped into TCP6") {
  tcp::endpoint v6(asio::ip::make_address("2001:db8::1"), 4000), v6dst(asio::ip::make_address("2001:db8::2"), 443);
  CHECK(write_proxy_header(1, v6, v6dst) == "PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n");
  std::string h2 = write_proxy_header(2, v6, v6dst);
  CHECK(h2.size() == 16 + 36);
  CHECK(static_cast<uint8_t>(h2[13]) == 0x21);
  CHECK(*parse(h2).source == v6);

  tcp::endpoint mapped(asio::ip::make_address("::ffff:192.0.2.9"), 5000), v4dst(asio::ip::make_address("192.0.2.1"), 80);
  CHECK(write_proxy_header(1, mapped, v4dst) == "PROXY TCP4 192.0.2.9 192.0.2.1 5000 80\r\n");
  // Mixed families: both as IPv6, the IPv4 one v4-mapped.
  CHECK(write_proxy_header(1, tcp::endpoint(asio::ip::make_address("192.0.2.9"), 5000), v6dst) ==
        "PROXY TCP6 ::ffff:192.0.2.9 2001:db8::2 5000 443\r\n");
}
