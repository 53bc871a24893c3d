#include "proxy/grpc_web_codec.hpp"

#include <array>
#include <cstdint>

#include "tls/base64.hpp"

namespace portier::proxy {
namespace {

// One group of 4 characters: 3, 2 or 1 bytes appended (by its padding); false when malformed.
bool decode_group(const std::array<char, 4>& group, std::string& out) {
  int pads = group[3] == '=' ? (group[2] == '=' ? 2 : 1) : 0;
  uint32_t bits = 0;
  for (int i = 0; i < 4 - pads; ++i) {
    int v = tls::base64_value(group[i]);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(v);
  }
  bits <<= 6 * pads;
  out += static_cast<char>(bits >> 16);
  if (pads < 2) out += static_cast<char>((bits >> 8) & 0xff);
  if (pads < 1) out += static_cast<char>(bits & 0xff);
  return true;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool header_list_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

std::optional<std::string> decode_grpc_web_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::array<char, 4> group{};
  size_t filled = 0;
  for (char c : text) {
    if (c == '\r' || c == '\n') continue;
    group[filled++] = c;
    if (filled < 4) continue;
    if (!decode_group(group, out)) return std::nullopt;
    filled = 0;
  }
  if (filled != 0) return std::nullopt;
  return out;
}

std::string grpc_web_trailer_frame(std::string_view raw) {
  std::string fields;
  while (!raw.empty()) {
    size_t eol = raw.find("\r\n");
    std::string_view line = raw.substr(0, eol);
    raw = eol == std::string_view::npos ? std::string_view() : raw.substr(eol + 2);
    size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view() : trim(line.substr(0, colon));
    if (name.empty()) continue;
    for (char c : name) fields += lower(c);
    fields += ": ";
    fields += trim(line.substr(colon + 1));
    fields += "\r\n";
  }
  uint32_t n = static_cast<uint32_t>(fields.size());
  std::string frame{static_cast<char>(0x80), static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                    static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  return frame + fields;
}

std::string cors_header_list(std::string_view request_headers) {
  std::string out, name;
  bool start = true;
  auto flush = [&] {
    if (name.empty()) return;
    if (!out.empty()) out += ", ";
    out += name;
    name.clear();
  };
  for (char c : request_headers) {
    if (c == ',' || c == ' ') {
      flush();
      start = true;
      continue;
    }
    if (header_list_char(c)) name += start ? upper(c) : lower(c);
    start = c == '-';
  }
  flush();
  return out;
}

bool is_cors_origin(std::string_view text) {
  if (text == "*") return true;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  for (char c : text.substr(0, sep))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '-' || c == '.'))
      return false;
  std::string_view authority = text.substr(sep + 3);
  if (authority.empty()) return false;
  for (char c : authority)
    if (c == '/' || c == '?' || c == '#' || c == ' ' || static_cast<unsigned char>(c) < 0x21) return false;
  return true;
}

}  // namespace portier::proxy
