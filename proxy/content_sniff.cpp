#include "proxy/content_sniff.hpp"

#include <array>
#include <cstdint>

namespace portier::proxy {
namespace {

using namespace std::string_view_literals;

bool is_ws(unsigned char b) { return b == '\t' || b == '\n' || b == '\x0c' || b == '\r' || b == ' '; }

// Go's htmlSig: after leading whitespace, the tag (letters in any case), then ' ' or '>'.
bool html_tag(std::string_view data, std::string_view tag) {
  if (data.size() < tag.size() + 1) return false;
  for (size_t i = 0; i < tag.size(); ++i) {
    unsigned char b = static_cast<unsigned char>(tag[i]);
    unsigned char d = static_cast<unsigned char>(data[i]);
    if ('A' <= b && b <= 'Z') d &= 0xDF;
    if (b != d) return false;
  }
  return data[tag.size()] == ' ' || data[tag.size()] == '>';
}

struct Masked {
  std::string_view mask, pattern, type;
  bool skip_ws = false;
};

bool masked(std::string_view data, const Masked& m) {
  if (data.size() < m.mask.size()) return false;
  for (size_t i = 0; i < m.mask.size(); ++i)
    if ((data[i] & m.mask[i]) != m.pattern[i]) return false;
  return true;
}

struct Exact {
  std::string_view prefix, type;
};

constexpr std::array kHtmlTags{"<!DOCTYPE HTML"sv, "<HTML"sv, "<HEAD"sv, "<SCRIPT"sv, "<IFRAME"sv,
                               "<H1"sv, "<DIV"sv, "<FONT"sv, "<TABLE"sv, "<A"sv, "<STYLE"sv,
                               "<TITLE"sv, "<B"sv, "<BODY"sv, "<BR"sv, "<P"sv, "<!--"sv};

constexpr std::string_view kFF5 = "\xFF\xFF\xFF\xFF\xFF"sv;
constexpr std::string_view kRiffMask = "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv;

// Go's table from `<?xml` to webm, in its order (the html tags come first, text last).
const Masked kHead[] = {
    {kFF5, "<?xml"sv, "text/xml; charset=utf-8"sv, true},
};
const Exact kDocuments[] = {{"%PDF-"sv, "application/pdf"sv},
                            {"%!PS-Adobe-"sv, "application/postscript"sv}};
const Masked kBoms[] = {
    {"\xFF\xFF\x00\x00"sv, "\xFE\xFF\x00\x00"sv, "text/plain; charset=utf-16be"sv},
    {"\xFF\xFF\x00\x00"sv, "\xFF\xFE\x00\x00"sv, "text/plain; charset=utf-16le"sv},
    {"\xFF\xFF\xFF\x00"sv, "\xEF\xBB\xBF\x00"sv, "text/plain; charset=utf-8"sv},
};
const Exact kImages[] = {{"\x00\x00\x01\x00"sv, "image/x-icon"sv},
                         {"\x00\x00\x02\x00"sv, "image/x-icon"sv},
                         {"BM"sv, "image/bmp"sv},
                         {"GIF87a"sv, "image/gif"sv},
                         {"GIF89a"sv, "image/gif"sv}};
const Masked kWebp = {"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF"sv,
                      "RIFF\x00\x00\x00\x00WEBPVP"sv, "image/webp"sv};
const Exact kImages2[] = {{"\x89PNG\x0D\x0A\x1A\x0A"sv, "image/png"sv}, {"\xFF\xD8\xFF"sv, "image/jpeg"sv}};
const Masked kAudioVideo[] = {
    {kRiffMask, "FORM\x00\x00\x00\x00" "AIFF"sv, "audio/aiff"sv},
    {"\xFF\xFF\xFF"sv, "ID3"sv, "audio/mpeg"sv},
    {kFF5, "OggS\x00"sv, "application/ogg"sv},
    {"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"sv, "MThd\x00\x00\x00\x06"sv, "audio/midi"sv},
    {kRiffMask, "RIFF\x00\x00\x00\x00" "AVI "sv, "video/avi"sv},
    {kRiffMask, "RIFF\x00\x00\x00\x00" "WAVE"sv, "audio/wave"sv},
};
// After mp4: webm, the fonts (EOT is masked: "LP" at offset 34), archives, wasm.
const Exact kWebm = {"\x1A\x45\xDF\xA3"sv, "video/webm"sv};
constexpr std::string_view kEotMask =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF"sv;
constexpr std::string_view kEotPattern =
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00LP"sv;
const Exact kTail[] = {{"\x00\x01\x00\x00"sv, "font/ttf"sv},
                       {"OTTO"sv, "font/otf"sv},
                       {"ttcf"sv, "font/collection"sv},
                       {"wOFF"sv, "font/woff"sv},
                       {"wOF2"sv, "font/woff2"sv},
                       {"\x1F\x8B\x08"sv, "application/x-gzip"sv},
                       {"PK\x03\x04"sv, "application/zip"sv},
                       {"Rar!\x1A\x07\x00"sv, "application/x-rar-compressed"sv},
                       {"Rar!\x1A\x07\x01\x00"sv, "application/x-rar-compressed"sv},
                       {"\x00" "asm"sv, "application/wasm"sv}};

template <class List>
std::string_view first_exact(std::string_view data, const List& list) {
  for (const Exact& e : list)
    if (data.starts_with(e.prefix)) return e.type;
  return {};
}

template <class List>
std::string_view first_masked(std::string_view data, const List& list) {
  for (const Masked& m : list)
    if (masked(data, m)) return m.type;
  return {};
}

// mimesniff's mp4 signature: an ftyp box naming an "mp4" brand.
bool mp4(std::string_view data) {
  if (data.size() < 12) return false;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[i])); };
  uint32_t box = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (box % 4 != 0 || data.size() < box || data.substr(4, 4) != "ftyp") return false;
  for (size_t at = 8; at < box; at += 4) {
    if (at == 12) continue;  // the minor version
    if (data.substr(at, 3) == "mp4") return true;
  }
  return false;
}

// No byte that marks binary data: text.
bool textual(std::string_view data) {
  for (unsigned char b : data)
    if (b <= 0x08 || b == 0x0B || (0x0E <= b && b <= 0x1A) || (0x1C <= b && b <= 0x1F)) return false;
  return true;
}

}  // namespace

std::string_view detect_content_type(std::string_view data) {
  data = data.substr(0, 512);
  size_t ws = 0;
  while (ws < data.size() && is_ws(static_cast<unsigned char>(data[ws]))) ++ws;
  std::string_view trimmed = data.substr(ws);
  for (auto tag : kHtmlTags)
    if (html_tag(trimmed, tag)) return "text/html; charset=utf-8";
  if (masked(trimmed, kHead[0])) return kHead[0].type;
  std::string_view type;
  if (!(type = first_exact(data, kDocuments)).empty()) return type;
  if (!(type = first_masked(data, kBoms)).empty()) return type;
  if (!(type = first_exact(data, kImages)).empty()) return type;
  if (masked(data, kWebp)) return kWebp.type;
  if (!(type = first_exact(data, kImages2)).empty()) return type;
  if (!(type = first_masked(data, kAudioVideo)).empty()) return type;
  if (mp4(data)) return "video/mp4";
  if (data.starts_with(kWebm.prefix)) return kWebm.type;
  if (masked(data, {kEotMask, kEotPattern, "application/vnd.ms-fontobject"sv})) return "application/vnd.ms-fontobject";
  if (!(type = first_exact(data, kTail)).empty()) return type;
  if (textual(trimmed)) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace portier::proxy
