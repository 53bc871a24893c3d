// `buffering`: the request body is read whole before it is forwarded (memory up to
// memRequestBodyBytes, a temp file beyond), 413 above maxRequestBodyBytes; responses above
// maxResponseBodyBytes are refused with 500 (a chunked or close-delimited response is read whole
// first, memResponseBodyBytes in memory). The session enforces BodyLimits.
#include "proxy/middleware.hpp"

namespace portier::proxy {
namespace {

class Buffering final : public Middleware {
 public:
  explicit Buffering(config::BufferingMw spec) : spec_(std::move(spec)) {}

  void body_limits(BodyLimits& limits) const override {
    auto stricter = [](int64_t current, int64_t wanted) {
      if (wanted <= 0) return current;
      return current <= 0 ? wanted : std::min(current, wanted);
    };
    limits.buffer_request = true;
    limits.max_request = stricter(limits.max_request, spec_.max_request_body_bytes);
    limits.max_response = stricter(limits.max_response, spec_.max_response_body_bytes);
    if (spec_.mem_request_body_bytes > 0) limits.mem_request = spec_.mem_request_body_bytes;
    if (spec_.mem_response_body_bytes > 0) limits.mem_response = spec_.mem_response_body_bytes;
  }

 private:
  config::BufferingMw spec_;
};

}  // namespace

MiddlewarePtr make_buffering_middleware(const config::BufferingMw& spec) {
  return std::make_shared<Buffering>(spec);
}

}  // namespace portier::proxy
