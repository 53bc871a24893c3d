#pragma once
// What the compress middleware reads from the outside: the client's Accept-Encoding and the
// media types of Content-Type fields (and of its configuration). Pure functions, fuzzed
// (tests/fuzz/content_coding_fuzz.cpp).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::proxy {

// A media type as Go's mime.ParseMediaType gives it: type/subtype and parameter names in
// lower case, parameter values as written (quotes removed).
struct MediaType {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
};
std::optional<MediaType> parse_media_type(std::string_view text);
// Traefik's comparison: the same type, and when `pattern` has parameters, exactly these.
bool media_type_matches(const MediaType& pattern, const MediaType& actual);

// The coding to answer with, from the request's Accept-Encoding field lines (`lines` empty:
// the field is absent) and the middleware's `encodings` (in order of preference) and
// `default_encoding`; "" for none. Traefik v3's rules: no field, the default encoding if any;
// an empty field, none; else the acceptable coding of highest q (0 excludes; ties go to the
// earlier of `encodings`, `*` before them, `identity` after), `*` meaning the default encoding
// or else the first of `encodings`. Coding names match case-insensitively.
std::string negotiate_encoding(const std::vector<std::string_view>& lines,
                               const std::vector<std::string>& encodings,
                               std::string_view default_encoding);

}  // namespace portier::proxy
