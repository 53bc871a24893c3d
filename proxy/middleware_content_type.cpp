// contentType, as Traefik v3: Traefik turns Go's Content-Type detection off for every
// response, and this middleware turns it back on for its router. A response that comes without
// a Content-Type field then gets the one http.DetectContentType gives its first payload bytes
// (proxy/content_sniff.hpp); the pipeline and the codecs do the reading
// (RequestPipeline::sniffs). `autoDetect: false` (deprecated in Traefik) leaves detection off:
// the middleware does nothing.
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

class ContentTypeMiddleware final : public Middleware {
 public:
  explicit ContentTypeMiddleware(bool detect) : detect_(detect) {}
  unsigned phases() const override { return detect_ ? kContentTypePhase : 0u; }

 private:
  bool detect_;
};

}  // namespace

MiddlewarePtr make_content_type_middleware(const config::ContentTypeMw& spec) {
  return std::make_shared<ContentTypeMiddleware>(spec.auto_detect);
}

}  // namespace portier::proxy
