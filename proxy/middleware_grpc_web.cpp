// grpcWeb, as Traefik v3 (which wraps github.com/traefik/grpc-web's WrapHandler with
// WithOriginFunc over allowOrigins and WithCorsForRegisteredEndpointsOnly(false)):
// - A POST whose Content-Type starts with application/grpc-web is gRPC-Web: it goes upstream as
//   gRPC (Content-Type application/grpc plus the client's suffix, TE: trailers) and only to an
//   h2c server (another answers 502: gRPC needs HTTP/2). A grpc-web-text body is read whole
//   (at most kMaxTextBody bytes, else 413) and base64-decoded (RequestPipeline's request-rewrite
//   phase); a binary body streams through unchanged.
// - Its gRPC response (Content-Type application/grpc...) gets the client's content type, an
//   Access-Control-Expose-Headers listing its fields plus grpc-status and grpc-message, and the
//   upstream's trailers as a final frame (flag 0x80) in the body; for -text the body is base64,
//   one padded part per upstream read (and one for the trailer frame), as the library flushes.
//   A trailers-only answer (an error without a message) keeps grpc-status in its head and ends
//   with an empty trailer frame, as Traefik sends it. Another response is relayed as it came.
// - An OPTIONS whose Access-Control-Request-Headers names x-grpc-web and that has an
//   Access-Control-Request-Method is answered here (rs/cors v1.7's preflight: 200, Vary, and for
//   an allowed origin and a GET/POST/HEAD method the Allow-* fields, credentials, max age 600).
//   gRPC-Web requests get Vary: Origin, and Access-Control-Allow-Origin (the origin itself) and
//   -Allow-Credentials when the origin is allowed ("*" allows any).
// Every other request passes through unchanged.
#include <cctype>
#include <cstring>

#include "config/http_token.hpp"
#include "proxy/forward_auth_request.hpp"
#include "proxy/grpc_web_codec.hpp"
#include "proxy/header_fields.hpp"
#include "proxy/middleware.hpp"
#include "tls/base64.hpp"

namespace portier::proxy {
namespace {

constexpr std::string_view kGrpc = "application/grpc";
constexpr std::string_view kGrpcWeb = "application/grpc-web";
constexpr std::string_view kGrpcWebText = "application/grpc-web-text";
// A grpc-web-text request body is decoded whole: gRPC's default message limit (4 MiB), in base64.
constexpr int64_t kMaxTextBody = 6 << 20;

enum class Form { none, binary, text };

Form grpc_web_form(const RequestHead& head) {
  std::string_view type = find_header(head.headers, "content-type");
  if (head.method != "POST" || !type.starts_with(kGrpcWeb)) return Form::none;
  return type.starts_with(kGrpcWebText) ? Form::text : Form::binary;
}

bool lists_grpc_web(std::string_view request_headers) {
  std::string lower(request_headers);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("x-grpc-web") != std::string::npos;
}

void add_name(std::string& list, std::string_view name) {
  std::string canonical = config::canonical_header_name(name);
  for (size_t at = 0; (at = list.find(canonical, at)) != std::string::npos; at += canonical.size()) {
    bool starts = at == 0 || list[at - 1] == ' ';
    bool ends = at + canonical.size() == list.size() || list[at + canonical.size()] == ',';
    if (starts && ends) return;
  }
  if (!list.empty()) list += ", ";
  list += canonical;
}

class GrpcWebFilter final : public ResponseFilter {
 public:
  explicit GrpcWebFilter(bool text) : text_(text) {}

  bool start(const ResponseHead& resp, HeaderEdits& response) override {
    std::string_view type = find_header(resp.headers, "content-type");
    if (!type.starts_with(kGrpc)) return false;
    std::string exposed;
    for (const auto& h : resp.headers)
      if (!is_hop_by_hop(h.name, resp.connection) && !iequals(h.name, "content-length") &&
          !iequals(h.name, "trailer") && !response.touches(h.name))
        add_name(exposed, h.name);
    for (const auto& [name, value] : response.set) add_name(exposed, name);
    for (const auto& [name, value] : response.add) add_name(exposed, name);
    exposed += ", grpc-status, grpc-message";
    response.set_header("Content-Type", std::string(text_ ? kGrpcWebText : kGrpcWeb) +
                                            std::string(type.substr(kGrpc.size())));
    response.remove_header("Content-Length");
    response.remove_header("Trailer");
    response.set_header("Access-Control-Expose-Headers", std::move(exposed));
    return true;
  }

  bool trailers(std::string_view raw) override {
    trailers_ = raw;
    return true;
  }

  bool feed(std::string_view in, bool last, IoBuffer& out) override {
    write(in, out);
    if (last) write(grpc_web_trailer_frame(trailers_), out);
    return true;
  }

 private:
  void write(std::string_view bytes, IoBuffer& out) const {
    if (bytes.empty()) return;
    std::string encoded;
    if (text_) {
      encoded = tls::base64_encode(bytes);
      bytes = encoded;
    }
    std::memcpy(out.prepare(bytes.size()).data(), bytes.data(), bytes.size());
    out.commit(bytes.size());
  }

  bool text_;
  std::string trailers_;
};

class GrpcWeb final : public Middleware {
 public:
  explicit GrpcWeb(std::vector<std::string> origins) : origins_(std::move(origins)) {}

  unsigned phases() const override { return kRequestPhase | kResponseBodyPhase | kRequestRewritePhase; }

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits& response) const override {
    const RequestHead& head = ctx.head;
    std::string_view origin = find_header(head.headers, "origin");
    std::string_view method = find_header(head.headers, "access-control-request-method");
    std::string_view wanted = find_header(head.headers, "access-control-request-headers");
    if (head.method == "OPTIONS" && !method.empty() && lists_grpc_web(wanted))
      return preflight(origin, method, wanted);
    Form form = grpc_web_form(head);
    if (form == Form::none) return std::nullopt;
    std::string_view type = find_header(head.headers, "content-type");
    size_t prefix = form == Form::text ? kGrpcWebText.size() : kGrpcWeb.size();
    request.headers.set_header("Content-Type", std::string(kGrpc) + std::string(type.substr(prefix)));
    request.headers.set_header("TE", "trailers");
    request.h2c_only = true;
    response.add.emplace_back("Vary", "Origin");
    if (allowed(origin)) {
      response.set_header("Access-Control-Allow-Origin", std::string(origin));
      response.set_header("Access-Control-Allow-Credentials", "true");
    }
    return std::nullopt;
  }

  bool rewrites_body(const RequestContext& ctx) const override {
    return grpc_web_form(ctx.head) == Form::text;
  }
  std::optional<std::string> rewrite_body(std::string_view payload) const override {
    return decode_grpc_web_text(payload);
  }
  BodyFirst body_first() const override { return {kMaxTextBody, 413}; }

  std::unique_ptr<ResponseFilter> plan_response(const RequestContext& ctx) const override {
    Form form = grpc_web_form(ctx.head);
    if (form == Form::none) return nullptr;
    return std::make_unique<GrpcWebFilter>(form == Form::text);
  }

 private:
  bool allowed(std::string_view origin) const {
    if (origin.empty()) return false;
    for (const auto& o : origins_)
      if (o == "*" || o == origin) return true;
    return false;
  }

  LocalReply preflight(std::string_view origin, std::string_view method, std::string_view wanted) const {
    LocalReply reply{200, {}, {}};
    for (const char* vary : {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"})
      reply.headers.emplace_back("Vary", vary);
    std::string upper(method);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    bool method_ok = upper == "GET" || upper == "POST" || upper == "HEAD" || upper == "OPTIONS";
    if (!allowed(origin) || !method_ok) return reply;
    reply.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    reply.headers.emplace_back("Access-Control-Allow-Methods", upper);
    if (std::string list = cors_header_list(wanted); !list.empty())
      reply.headers.emplace_back("Access-Control-Allow-Headers", std::move(list));
    reply.headers.emplace_back("Access-Control-Allow-Credentials", "true");
    reply.headers.emplace_back("Access-Control-Max-Age", "600");
    return reply;
  }

  std::vector<std::string> origins_;
};

}  // namespace

MiddlewarePtr make_grpc_web_middleware(const config::GrpcWebMw& spec, std::string* error) {
  for (const auto& origin : spec.allow_origins) {
    if (!is_cors_origin(origin)) {
      *error = "grpcWeb.allowOrigins: \"" + origin + "\" is not an origin (scheme://host[:port] or *)";
      return nullptr;
    }
  }
  return std::make_shared<GrpcWeb>(spec.allow_origins);
}

}  // namespace portier::proxy
