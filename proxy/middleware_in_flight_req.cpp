// inFlightReq: at most `amount` requests in flight per source (by default the request's Host,
// as Traefik); one more gets 429. A request holds its slot until its exchange ends (response
// relayed, or failed). Counters are shared by all workers (in_flight_counter.hpp).
#include "proxy/in_flight_counter.hpp"
#include "proxy/middleware.hpp"
#include "proxy/request_source.hpp"

namespace portier::proxy {
namespace {

class InFlightReqMiddleware final : public Middleware {
 public:
  InFlightReqMiddleware(RequestSource source, int64_t amount)
      : source_(std::move(source)), counter_(std::make_shared<InFlightCounter>(amount)) {}

  std::optional<LocalReply> on_request(const RequestContext& ctx, RequestEdits& request,
                                       HeaderEdits&) const override {
    if (auto hold = counter_->acquire(source_.key(ctx))) {
      request.holds.push_back(std::move(hold));
      return std::nullopt;
    }
    LocalReply reply;
    reply.status = 429;
    reply.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    reply.body = "Too Many Requests";
    return reply;
  }

 private:
  RequestSource source_;
  std::shared_ptr<InFlightCounter> counter_;
};

}  // namespace

MiddlewarePtr make_in_flight_req_middleware(const config::InFlightReqMw& spec, std::string* error) {
  if (spec.amount <= 0) return *error = "amount must be greater than 0", nullptr;
  auto source = RequestSource::make(spec.source_criterion, RequestSource::Default::host, error);
  if (!source) return nullptr;
  return std::make_shared<InFlightReqMiddleware>(std::move(*source), spec.amount);
}

}  // namespace portier::proxy
