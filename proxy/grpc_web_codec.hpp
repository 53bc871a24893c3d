#pragma once
// gRPC-Web's wire forms (grpc/doc/PROTOCOL-WEB.md) as the grpcWeb middleware translates them:
// the base64 of application/grpc-web-text bodies, the trailer frame that ends a response body,
// the CORS lists of a gRPC-Web preflight (rs/cors v1.7, which Traefik's grpc-web wraps).
// Pure functions of outside input (fuzzed by tests/fuzz/grpc_web_fuzz.cpp); any thread.
#include <optional>
#include <string>
#include <string_view>

namespace portier::proxy {

// A grpc-web-text request body: standard base64 in groups of 4 characters, each of which may
// end in padding (several padded parts one after another, as gRPC-Web allows); CR and LF are
// skipped, as Go's decoder skips them. nullopt on any other byte or an incomplete group.
std::optional<std::string> decode_grpc_web_text(std::string_view text);

// The frame that ends a gRPC-Web response body: flag 0x80, the 4-byte big-endian length, then
// the trailer fields of `raw` (an HTTP/1.1 trailer section, "Name: value\r\n" lines, as
// BodyDecoder keeps it) as "name: value\r\n" lines, names lowercased (the spec's form), values
// without surrounding blanks. Lines that are not fields are left out.
std::string grpc_web_trailer_frame(std::string_view raw);

// Access-Control-Request-Headers as rs/cors lists them back in Access-Control-Allow-Headers:
// the names split at ',' and ' ', characters outside [A-Za-z0-9._-] dropped, in canonical
// form ("x-grpc-web" -> "X-Grpc-Web"), joined with ", ".
std::string cors_header_list(std::string_view request_headers);

// Whether `text` is an allowOrigins entry that can match a browser's Origin: "*", or
// scheme://host[:port] with no path, query or fragment.
bool is_cors_origin(std::string_view text);

}  // namespace portier::proxy
