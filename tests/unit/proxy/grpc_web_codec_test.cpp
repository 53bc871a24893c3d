// gRPC-Web's wire forms (proxy/grpc_web_codec.*) on the cases the e2e test
// (tests/e2e/test_grpc_web.py) does not reach: several padded parts, stray bytes, trailer
// sections with odd lines, rs/cors's header-list normalisation, allowOrigins entries.
#include <catch2/catch.hpp>

#include "proxy/grpc_web_codec.hpp"

using namespace portier::proxy;

TEST_CASE("grpc-web-text: base64 in padded parts, CR/LF skipped", "[grpc_web]") {
  CHECK(decode_grpc_web_text("") == std::string());
  CHECK(decode_grpc_web_text("AAAABQoDYWJj") == std::string("\0\0\0\x05\x0a\x03" "abc", 9));
  CHECK(decode_grpc_web_text("YQ==Yg==") == std::string("ab"));  // two padded parts
  CHECK(decode_grpc_web_text("YWI=\r\nYw==") == std::string("abc"));
  CHECK_FALSE(decode_grpc_web_text("YWJ").has_value());      // an incomplete group
  CHECK_FALSE(decode_grpc_web_text("Y====").has_value());    // padding where data belongs
  CHECK_FALSE(decode_grpc_web_text("YW I=").has_value());    // a blank is not skipped
  CHECK_FALSE(decode_grpc_web_text("YW-_").has_value());     // the URL alphabet is not gRPC-Web's
}

TEST_CASE("grpc-web trailer frame: lowercase names, trimmed values, length prefix", "[grpc_web]") {
  std::string frame = grpc_web_trailer_frame("Grpc-Status: 3\r\ngrpc-message:  bad value \r\nno field\r\n");
  std::string fields = "grpc-status: 3\r\ngrpc-message: bad value\r\n";
  REQUIRE(frame.size() == 5 + fields.size());
  CHECK(static_cast<unsigned char>(frame[0]) == 0x80);
  CHECK(frame.substr(1, 4) == std::string("\0\0\0", 3) + static_cast<char>(fields.size()));
  CHECK(frame.substr(5) == fields);
  CHECK(grpc_web_trailer_frame("") == std::string("\x80\0\0\0\0", 5));  // a trailers-only answer
}

TEST_CASE("grpc-web preflight: Access-Control-Allow-Headers as rs/cors lists them", "[grpc_web]") {
  CHECK(cors_header_list("x-grpc-web,content-type, X-USER-AGENT") == "X-Grpc-Web, Content-Type, X-User-Agent");
  CHECK(cors_header_list(" , ") == "");
  CHECK(cors_header_list("x-a:b") == "X-Ab");  // characters outside a name are dropped
}

TEST_CASE("grpcWeb.allowOrigins: an origin or *", "[grpc_web]") {
  CHECK(is_cors_origin("*"));
  CHECK(is_cors_origin("https://app.example"));
  CHECK(is_cors_origin("http://127.0.0.1:8080"));
  CHECK_FALSE(is_cors_origin("app.example"));
  CHECK_FALSE(is_cors_origin("https://app.example/"));
  CHECK_FALSE(is_cors_origin("https://"));
  CHECK_FALSE(is_cors_origin("*.example.com"));
}
