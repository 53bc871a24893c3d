#include <catch2/catch.hpp>

#include "proxy/body_encoder.hpp"
#include "proxy/content_coding.hpp"

#include <zlib.h>

using namespace portier::proxy;

namespace {
const std::vector<std::string> kDefault{"gzip", "br", "zstd"};

std::string pick(std::vector<std::string_view> lines, std::string_view fallback = {}) {
  return negotiate_encoding(lines, kDefault, fallback);
}

std::string gunzip(std::string_view coded) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(coded.data()));
  z.avail_in = static_cast<uInt>(coded.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}
}  // namespace

TEST_CASE("Accept-Encoding negotiation follows Traefik's rules") {
  CHECK(pick({}) == "");                    // absent: none
  CHECK(pick({}, "br") == "br");            // ... or the default encoding
  CHECK(pick({""}, "br") == "");            // empty: none
  CHECK(pick({"gzip, br"}) == "gzip");      // equal q: configured order
  CHECK(pick({"br;q=0.9, gzip;q=0.8"}) == "br");
  CHECK(pick({"GZIP"}) == "gzip");          // names are case-insensitive
  CHECK(pick({"gzip;q=0"}) == "");          // q=0 excludes
  CHECK(pick({"gzip;q=abc"}) == "");        // an unparsable q counts as 0
  CHECK(pick({"gzip; q= 0.5"}) == "gzip");
  CHECK(pick({"deflate"}) == "");           // unknown codings are ignored
  CHECK(pick({"identity"}) == "");
  CHECK(pick({"identity, gzip"}) == "gzip");  // identity loses ties
  CHECK(pick({"*"}) == "gzip");
  CHECK(pick({"*"}, "zstd") == "zstd");
  CHECK(pick({"br;q=0.1", "zstd"}) == "zstd");  // several field lines
}

TEST_CASE("media types parse and match as Go's mime package and Traefik do") {
  auto json = parse_media_type("Application/JSON; Charset=\"utf-8\"");
  REQUIRE(json);
  CHECK(json->type == "application/json");
  REQUIRE(json->params.size() == 1);
  CHECK(json->params[0] == std::pair<std::string, std::string>{"charset", "utf-8"});
  CHECK(media_type_matches(*parse_media_type("application/json"), *json));
  CHECK(!media_type_matches(*parse_media_type("application/json; charset=latin1"), *json));
  CHECK(!parse_media_type("text"));
  CHECK(!parse_media_type("text/html; charset"));
  CHECK(!parse_media_type("text/html; a=1; a=2"));
  CHECK(!parse_media_type("text/html; a=\"open"));
  CHECK(parse_media_type("text/html;"));
}

TEST_CASE("the gzip encoder streams: each piece is flushed, the whole decodes back") {
  auto enc = make_body_encoder("gzip");
  REQUIRE(enc);
  IoBuffer out;
  std::string whole;
  for (int i = 0; i < 50; ++i) {
    std::string piece(1000 + i, static_cast<char>('a' + i % 26));
    whole += piece;
    size_t before = out.size();
    REQUIRE(enc->encode(piece, false, out));
    CHECK(out.size() > before);  // flushed: the client gets something for every piece
  }
  REQUIRE(enc->encode("", true, out));
  CHECK(gunzip(out.readable()) == whole);
  CHECK(make_body_encoder("br"));
  CHECK(make_body_encoder("zstd"));
  CHECK(!make_body_encoder("deflate"));
}
