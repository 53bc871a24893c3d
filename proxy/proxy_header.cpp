#include "proxy/proxy_header.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

namespace portier::proxy {
namespace {

using Status = ProxyHeader::Status;

constexpr std::string_view kV1Signature = "PROXY";
constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV1MaxLine = 107;  // CRLF included
// go-proxyproto reads a v2 payload through a 4 KiB bufio.Reader and refuses a longer one.
constexpr size_t kV2MaxPayload = 4096;

ProxyHeader incomplete(size_t needed) {
  ProxyHeader h;
  h.status = Status::incomplete;
  h.needed = needed;
  return h;
}

ProxyHeader with_status(Status s) {
  ProxyHeader h;
  h.status = s;
  return h;
}

// Go's strconv.Atoi then a 0..65535 check, without sign or spaces.
std::optional<uint16_t> v1_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::optional<asio::ip::address> v1_address(std::string_view text, bool v6) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (v6) {
    asio::ip::address_v6::bytes_type b;
    if (::inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
    return asio::ip::address(asio::ip::address_v6(b));
  }
  asio::ip::address_v4::bytes_type b;
  if (::inet_pton(AF_INET, buf, b.data()) != 1) return std::nullopt;
  return asio::ip::address(asio::ip::address_v4(b));
}

// "PROXY TCP4 198.51.100.1 203.0.113.7 51234 443\r\n", or "PROXY UNKNOWN...\r\n".
ProxyHeader parse_v1(std::span<const uint8_t> data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()), std::min(data.size(), kV1MaxLine));
  size_t lf = text.find('\n');
  if (lf == std::string_view::npos)
    return text.size() >= kV1MaxLine ? with_status(Status::invalid) : incomplete(data.size() + 1);
  if (lf == 0 || text[lf - 1] != '\r') return with_status(Status::invalid);
  std::string_view line = text.substr(0, lf - 1);
  std::vector<std::string_view> tokens;
  for (size_t start = 0;;) {
    size_t sp = line.find(' ', start);
    tokens.push_back(line.substr(start, sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  ProxyHeader h;
  h.length = lf + 1;
  if (tokens.size() < 2 || tokens[0] != kV1Signature) return with_status(Status::invalid);
  if (tokens[1] == "UNKNOWN") {
    h.status = Status::complete;
    return h;
  }
  if ((tokens[1] != "TCP4" && tokens[1] != "TCP6") || tokens.size() < 6) return with_status(Status::invalid);
  const bool v6 = tokens[1] == "TCP6";
  auto source = v1_address(tokens[2], v6);
  auto destination = v1_address(tokens[3], v6);
  auto source_port = v1_port(tokens[4]);
  auto destination_port = v1_port(tokens[5]);
  if (!source || !destination || !source_port || !destination_port) return with_status(Status::invalid);
  h.status = Status::complete;
  h.source = tcp::endpoint(*source, *source_port);
  return h;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// 12-byte signature, version/command, family/transport, payload length, payload.
ProxyHeader parse_v2(std::span<const uint8_t> data) {
  if (data.size() < 16) return incomplete(16);
  const uint8_t version_command = data[12];
  const uint8_t family = data[13];
  const size_t payload = be16(&data[14]);
  const bool local = version_command == 0x20;
  if (!local && version_command != 0x21) return with_status(Status::invalid);
  size_t address_block = 0;
  switch (family) {
    case 0x00: break;                                // UNSPEC
    case 0x11: case 0x12: address_block = 12; break;  // INET, stream or datagram
    case 0x21: case 0x22: address_block = 36; break;  // INET6
    case 0x31: case 0x32: address_block = 216; break; // UNIX
    default: return with_status(Status::invalid);
  }
  if ((family == 0x00 && !local) || payload < address_block || payload > kV2MaxPayload)
    return with_status(Status::invalid);
  if (data.size() < 16 + payload) return incomplete(16 + payload);
  ProxyHeader h;
  h.status = Status::complete;
  h.length = 16 + payload;
  if (local) return h;
  const uint8_t* a = &data[16];
  if (address_block == 12) {
    asio::ip::address_v4::bytes_type src;
    std::memcpy(src.data(), a, 4);
    h.source = tcp::endpoint(asio::ip::address_v4(src), be16(a + 8));
  } else if (address_block == 36) {
    asio::ip::address_v6::bytes_type src;
    std::memcpy(src.data(), a, 16);
    h.source = tcp::endpoint(asio::ip::address_v6(src), be16(a + 32));
  }
  return h;
}

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

asio::ip::address_v6 as_v6(const asio::ip::address& a) {
  return a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

template <class Bytes>
void put_bytes(std::string& out, const Bytes& b) {
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace

std::string write_proxy_header(int version, const tcp::endpoint& source, const tcp::endpoint& destination) {
  asio::ip::address src = unmapped(source.address()), dst = unmapped(destination.address());
  const bool v4 = src.is_v4() && dst.is_v4();
  if (version == 1) {
    const std::string s = v4 ? src.to_string() : as_v6(src).to_string();
    const std::string d = v4 ? dst.to_string() : as_v6(dst).to_string();
    return std::string("PROXY ") + (v4 ? "TCP4 " : "TCP6 ") + s + " " + d + " " + std::to_string(source.port()) +
           " " + std::to_string(destination.port()) + "\r\n";
  }
  std::string out;
  put_bytes(out, kV2Signature);
  out.push_back(static_cast<char>(0x21));              // version 2, PROXY
  out.push_back(static_cast<char>(v4 ? 0x11 : 0x21));  // INET or INET6, stream
  put16(out, v4 ? 12 : 36);
  if (v4) {
    put_bytes(out, src.to_v4().to_bytes());
    put_bytes(out, dst.to_v4().to_bytes());
  } else {
    put_bytes(out, as_v6(src).to_bytes());
    put_bytes(out, as_v6(dst).to_bytes());
  }
  put16(out, source.port());
  put16(out, destination.port());
  return out;
}

ProxyHeader parse_proxy_header(std::span<const uint8_t> data) {
  if (data.empty()) return incomplete(1);
  // go-proxyproto's detection: "PROXY" (5 bytes) or the 12-byte v2 signature; a connection
  // whose first bytes differ (an HTTP request, a ClientHello) carries no header.
  if (data[0] == 'P') {
    size_t n = std::min(data.size(), kV1Signature.size());
    if (std::memcmp(data.data(), kV1Signature.data(), n) != 0) return with_status(Status::absent);
    return n < kV1Signature.size() ? incomplete(kV1Signature.size()) : parse_v1(data);
  }
  if (data[0] == kV2Signature[0]) {
    size_t n = std::min(data.size(), kV2Signature.size());
    if (std::memcmp(data.data(), kV2Signature.data(), n) != 0) return with_status(Status::absent);
    return n < kV2Signature.size() ? incomplete(kV2Signature.size()) : parse_v2(data);
  }
  return with_status(Status::absent);
}

}  // namespace portier::proxy
