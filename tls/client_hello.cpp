#include "tls/client_hello.hpp"

#include <optional>

namespace portier::tls {

namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecord = 16384 + 2048;  // TLSPlaintext limit plus the slack peers tolerate

// Bounds-checked big-endian reader over a byte span.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool u8(size_t& v) { return num(1, v); }
  bool u16(size_t& v) { return num(2, v); }
  bool skip(size_t n) {
    if (n > b_.size() - at_) return false;
    at_ += n;
    return true;
  }
  bool sub(size_t n, Reader& out) {
    if (n > b_.size() - at_) return false;
    out = Reader(b_.subspan(at_, n));
    at_ += n;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (n > b_.size() - at_) return false;
    out = b_.subspan(at_, n);
    at_ += n;
    return true;
  }
  bool empty() const { return at_ == b_.size(); }

 private:
  bool num(size_t width, size_t& v) {
    if (width > b_.size() - at_) return false;
    v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | b_[at_ + i];
    at_ += width;
    return true;
  }
  std::span<const uint8_t> b_;
  size_t at_ = 0;
};

bool parse_sni(Reader r, std::string& sni) {
  size_t list_len = 0;
  Reader list(std::span<const uint8_t>{});
  if (!r.u16(list_len) || !r.sub(list_len, list) || !r.empty()) return false;
  while (!list.empty()) {
    size_t type = 0, n = 0;
    std::span<const uint8_t> name;
    if (!list.u8(type) || !list.u16(n) || !list.bytes(n, name)) return false;
    if (type != 0 || !sni.empty()) continue;
    if (name.empty() || name.size() > 255) return false;
    for (uint8_t c : name) {
      if (c <= 0x20 || c >= 0x7f) return false;
      sni += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    }
    if (sni.back() == '.') sni.pop_back();
  }
  return true;
}

bool parse_alpn(Reader r, std::vector<std::string>& alpn) {
  size_t list_len = 0;
  Reader list(std::span<const uint8_t>{});
  if (!r.u16(list_len) || !r.sub(list_len, list) || !r.empty() || list.empty()) return false;
  while (!list.empty()) {
    size_t n = 0;
    std::span<const uint8_t> proto;
    if (!list.u8(n) || n == 0 || !list.bytes(n, proto)) return false;
    alpn.emplace_back(proto.begin(), proto.end());
  }
  return true;
}

// `body`: the ClientHello message body (after the 4-byte handshake header).
HelloStatus parse_body(std::span<const uint8_t> body, ClientHelloInfo& out) {
  Reader r(body);
  size_t major = 0, minor = 0, n = 0;
  if (!r.u8(major) || !r.u8(minor) || major != 3) return HelloStatus::invalid;
  if (!r.skip(32) || !r.u8(n) || n > 32 || !r.skip(n)) return HelloStatus::invalid;     // random, session id
  if (!r.u16(n) || n < 2 || n % 2 != 0 || !r.skip(n)) return HelloStatus::invalid;      // cipher suites
  if (!r.u8(n) || n < 1 || !r.skip(n)) return HelloStatus::invalid;                     // compression
  ClientHelloInfo info;
  if (!r.empty()) {
    Reader exts(std::span<const uint8_t>{});
    if (!r.u16(n) || !r.sub(n, exts) || !r.empty()) return HelloStatus::invalid;
    while (!exts.empty()) {
      size_t type = 0, len = 0;
      Reader ext(std::span<const uint8_t>{});
      if (!exts.u16(type) || !exts.u16(len) || !exts.sub(len, ext)) return HelloStatus::invalid;
      if (type == 0 && !parse_sni(ext, info.sni)) return HelloStatus::invalid;
      if (type == 16 && (!info.alpn.empty() || !parse_alpn(ext, info.alpn))) return HelloStatus::invalid;
    }
  }
  out = std::move(info);
  return HelloStatus::ok;
}

}  // namespace

HelloStatus parse_client_hello(std::span<const uint8_t> bytes, ClientHelloInfo& out) {
  if (bytes.empty()) return HelloStatus::need_more;
  if (bytes[0] != kHandshakeRecord) return HelloStatus::not_tls;
  if (bytes.size() >= 2 && bytes[1] != 3) return HelloStatus::not_tls;

  // Reassemble the handshake message from consecutive handshake records. The common case
  // (message inside the first record) is parsed in place.
  std::vector<uint8_t> joined;
  std::span<const uint8_t> first;
  size_t at = 0;
  std::optional<size_t> message_size;  // header + body
  while (true) {
    if (bytes.size() - at < kRecordHeader) return HelloStatus::need_more;
    if (bytes[at] != kHandshakeRecord || bytes[at + 1] != 3) return HelloStatus::invalid;
    size_t len = (size_t(bytes[at + 3]) << 8) | bytes[at + 4];
    if (len == 0 || len > kMaxRecord) return HelloStatus::invalid;
    if (bytes.size() - at - kRecordHeader < len) return HelloStatus::need_more;
    auto fragment = bytes.subspan(at + kRecordHeader, len);
    at += kRecordHeader + len;
    if (first.empty() && joined.empty())
      first = fragment;
    else {
      if (joined.empty()) joined.assign(first.begin(), first.end());
      joined.insert(joined.end(), fragment.begin(), fragment.end());
    }
    std::span<const uint8_t> have = joined.empty() ? first : std::span<const uint8_t>(joined);
    if (!message_size && have.size() >= 4) {
      if (have[0] != kClientHello) return HelloStatus::invalid;
      size_t body = (size_t(have[1]) << 16) | (size_t(have[2]) << 8) | have[3];
      if (body > kMaxClientHello) return HelloStatus::invalid;
      message_size = 4 + body;
    }
    if (message_size && have.size() >= *message_size) return parse_body(have.subspan(4, *message_size - 4), out);
    if (have.size() > 4 + kMaxClientHello) return HelloStatus::invalid;
  }
}

}  // namespace portier::tls
