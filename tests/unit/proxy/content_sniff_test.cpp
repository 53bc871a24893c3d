#include <catch2/catch.hpp>

#include <string>

#include "proxy/content_sniff.hpp"

using portier::proxy::detect_content_type;
using namespace std::string_literals;

TEST_CASE("detect_content_type follows Go's DetectContentType table") {
  CHECK(detect_content_type("") == "text/plain; charset=utf-8");
  CHECK(detect_content_type("  <!doctype HTML><p>x") == "text/html; charset=utf-8");
  CHECK(detect_content_type("\n<html>") == "text/html; charset=utf-8");
  CHECK(detect_content_type("<b>bold</b>") == "text/html; charset=utf-8");
  CHECK(detect_content_type("<bx>") == "text/plain; charset=utf-8");  // no tag end after <b
  CHECK(detect_content_type("<!-- note -->") == "text/html; charset=utf-8");
  CHECK(detect_content_type("\t<?xml version='1.0'?>") == "text/xml; charset=utf-8");
  CHECK(detect_content_type("%PDF-1.7") == "application/pdf");
  CHECK(detect_content_type("\xEF\xBB\xBFhello"s) == "text/plain; charset=utf-8");
  CHECK(detect_content_type("\xFE\xFF\x00h"s) == "text/plain; charset=utf-16be");
  CHECK(detect_content_type("GIF89a....") == "image/gif");
  CHECK(detect_content_type("\x89PNG\r\n\x1a\n...."s) == "image/png");
  CHECK(detect_content_type("\xFF\xD8\xFF\xE0"s) == "image/jpeg");
  CHECK(detect_content_type("RIFF\x10\x00\x00\x00WEBPVP8 "s) == "image/webp");
  CHECK(detect_content_type("RIFF\x10\x00\x00\x00WAVEfmt "s) == "audio/wave");
  CHECK(detect_content_type("ID3\x03"s) == "audio/mpeg");
  CHECK(detect_content_type("\x00\x00\x00\x18" "ftypmp42\x00\x00\x00\x00mp42isom"s) == "video/mp4");
  CHECK(detect_content_type("\x1A\x45\xDF\xA3"s) == "video/webm");
  CHECK(detect_content_type("wOF2....") == "font/woff2");
  CHECK(detect_content_type(std::string(34, '\0') + "LP") == "application/vnd.ms-fontobject");
  CHECK(detect_content_type("\x1F\x8B\x08\x00"s) == "application/x-gzip");
  CHECK(detect_content_type("PK\x03\x04"s) == "application/zip");
  CHECK(detect_content_type("\x00" "asm\x01"s) == "application/wasm");
  CHECK(detect_content_type("{\"json\": true}") == "text/plain; charset=utf-8");
  CHECK(detect_content_type("\x01\x02\x03"s) == "application/octet-stream");
  // Only the first 512 bytes count.
  CHECK(detect_content_type(std::string(512, 'a') + "\x01") == "text/plain; charset=utf-8");
}
