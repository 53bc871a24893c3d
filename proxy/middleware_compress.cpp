// compress (Traefik v3): the response body in the coding negotiated from Accept-Encoding
// (gzip, br, zstd), streamed through a BodyEncoder.
//
// Decisions, as Traefik's compress handlers make them: no compression for HEAD, for a request
// whose Content-Type is excluded (application/grpc always is), without Accept-Encoding unless
// defaultEncoding is set; for a response already encoded, whose Content-Type is unparsable,
// excluded or not included, or with a Content-Length under minResponseBodyBytes. Vary:
// Accept-Encoding is added whenever a coding was negotiated. Beyond Traefik: never on a 206
// or Content-Range response, a bodiless status or an upgrade (the rule), and
// Accept-Ranges is dropped from a compressed response (byte ranges of the coded body are not
// served). A response without Content-Length is compressed whatever its size: its size is
// unknown when its head is sent (nginx's gzip_min_length works the same way; Traefik holds
// back the first minResponseBodyBytes instead).
#include <algorithm>

#include "proxy/body_encoder.hpp"
#include "proxy/content_coding.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

constexpr std::string_view kCodings[] = {"gzip", "br", "zstd"};

struct CompressRules {
  std::vector<MediaType> excluded;  // application/grpc first
  std::vector<MediaType> included;
  uint64_t min_bytes = 1024;
  std::vector<std::string> encodings;
  std::string default_encoding;
};

class CompressFilter : public ResponseFilter {
 public:
  CompressFilter(const CompressRules& rules, std::string coding) : rules_(rules), coding_(std::move(coding)) {}

  bool start(const ResponseHead& resp, HeaderEdits& response) override {
    response.add.emplace_back("Vary", "Accept-Encoding");
    if (!compressible(resp) || response.touches("Content-Encoding")) return false;
    encoder_ = make_body_encoder(coding_);
    if (!encoder_) return false;
    response.remove_header("Content-Length");
    response.remove_header("Accept-Ranges");
    response.set_header("Content-Encoding", coding_);
    return true;
  }

  bool feed(std::string_view in, bool last, IoBuffer& out) override {
    return encoder_->encode(in, last, out);
  }

 private:
  bool compressible(const ResponseHead& resp) const {
    if (resp.status < 200 || resp.status == 204 || resp.status == 206 || resp.status == 304 ||
        resp.body == BodyKind::none)
      return false;
    if (!find_header(resp.headers, "content-encoding").empty() ||
        !find_header(resp.headers, "content-range").empty())
      return false;
    if (resp.body == BodyKind::length && resp.content_length < rules_.min_bytes) return false;
    std::string_view type = find_header(resp.headers, "content-type");
    if (type.empty()) return rules_.included.empty();
    auto media = parse_media_type(type);
    if (!media) return false;
    auto matches = [&](const MediaType& p) { return media_type_matches(p, *media); };
    if (!rules_.included.empty()) return std::any_of(rules_.included.begin(), rules_.included.end(), matches);
    return std::none_of(rules_.excluded.begin(), rules_.excluded.end(), matches);
  }

  const CompressRules& rules_;  // the middleware's: it outlives the request (pinned snapshot)
  std::string coding_;
  std::unique_ptr<BodyEncoder> encoder_;
};

class Compress : public Middleware {
 public:
  explicit Compress(CompressRules rules) : rules_(std::move(rules)) {}
  unsigned phases() const override { return kResponseBodyPhase; }

  std::unique_ptr<ResponseFilter> plan_response(const RequestContext& ctx) const override {
    const RequestHead& head = ctx.head;
    if (head.method == "HEAD") return nullptr;
    if (auto type = parse_media_type(find_header(head.headers, "content-type"))) {
      for (const auto& excluded : rules_.excluded)
        if (excluded.type == type->type) return nullptr;  // Traefik compares the bare type here
    }
    std::vector<std::string_view> lines;
    for (const auto& h : head.headers)
      if (iequals(h.name, "accept-encoding")) lines.push_back(h.value);
    std::string coding = negotiate_encoding(lines, rules_.encodings, rules_.default_encoding);
    if (coding.empty()) return nullptr;
    return std::make_unique<CompressFilter>(rules_, std::move(coding));
  }

 private:
  CompressRules rules_;
};

bool media_types(const std::vector<std::string>& texts, const char* key, std::vector<MediaType>& out,
                 std::string* error) {
  for (const auto& text : texts) {
    auto media = parse_media_type(text);
    if (!media) {
      *error = std::string("compress.") + key + ": \"" + text + "\" is not a media type";
      return false;
    }
    out.push_back(std::move(*media));
  }
  return true;
}

}  // namespace

MiddlewarePtr make_compress_middleware(const config::CompressMw& spec, std::string* error) {
  if (!spec.excluded_content_types.empty() && !spec.included_content_types.empty()) {
    *error = "compress: excludedContentTypes and includedContentTypes are mutually exclusive";
    return nullptr;
  }
  if (spec.encodings.empty()) {
    *error = "compress.encodings: at least one encoding is needed";
    return nullptr;
  }
  for (const auto& e : spec.encodings) {
    if (std::find(std::begin(kCodings), std::end(kCodings), e) == std::end(kCodings)) {
      *error = "compress.encodings: \"" + e + "\" is not supported (gzip, br, zstd)";
      return nullptr;
    }
  }
  if (!spec.default_encoding.empty() &&
      std::find(spec.encodings.begin(), spec.encodings.end(), spec.default_encoding) == spec.encodings.end()) {
    *error = "compress.defaultEncoding: \"" + spec.default_encoding + "\" is not one of encodings";
    return nullptr;
  }
  CompressRules rules;
  rules.excluded.push_back(*parse_media_type("application/grpc"));
  if (!media_types(spec.excluded_content_types, "excludedContentTypes", rules.excluded, error) ||
      !media_types(spec.included_content_types, "includedContentTypes", rules.included, error))
    return nullptr;
  // 0 takes the default, as in Traefik.
  rules.min_bytes = spec.min_response_body_bytes > 0 ? static_cast<uint64_t>(spec.min_response_body_bytes) : 1024;
  rules.encodings = spec.encodings;
  rules.default_encoding = spec.default_encoding;
  return std::make_shared<Compress>(std::move(rules));
}

}  // namespace portier::proxy
