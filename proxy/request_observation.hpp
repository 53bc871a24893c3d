#pragma once
// The record of one request for the access log and the metrics, kept by the RequestPipeline
// (one per request, on the codec's coroutine frame, worker thread) and handed to the worker's
// WorkerObserver when the pipeline ends, i.e. when the codec is done with the request.
// Costs a branch when neither the access log nor the metrics are on. Otherwise its state comes
// from the worker's pool (WorkerObserver::acquire): the coroutine frame grows by two pointers
// only (it stays under Asio's recycling limit), and the strings the access log copies (the
// codec's views do not live until the end) keep their capacity from request to request.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/forwarding.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/request_record.hpp"
#include "proxy/worker_observer.hpp"

namespace portier::proxy {

struct ListenerInfo;

// What one observed request accumulates (pooled per worker).
struct ObservationState {
  using Clock = std::chrono::steady_clock;
  RequestRecord record;
  Clock::time_point t0{}, origin_t0{};
  bool capture_headers = false;
  // The request's method, path (with the query when kept), Host and X-Forwarded-For for the
  // access log, copied one after the other (the codec's views do not live until the end, and
  // middlewares may rewrite the path): one buffer that only grows.
  std::unique_ptr<char[]> texts;
  size_t texts_capacity = 0;
  std::string user;
  std::string header_values;  // RequestRecord::header_values
  std::vector<std::pair<std::string, std::string>> request_headers, response_headers;
  void reset();  // for the next request; keeps the strings' capacity
  char* texts_room(size_t n);  // texts with room for n bytes
};

class RequestObservation {
 public:
  // `http_version`: 20 for HTTP/2, 30 for HTTP/3, 0 to take it from the head (HTTP/1.0 or
  // 1.1). The TLS fields come from `client` (filled at the handshake).
  RequestObservation(WorkerObserver& observer, const ListenerInfo& listener,
                     const ClientInfo& client, int http_version);
  ~RequestObservation();
  RequestObservation(const RequestObservation&) = delete;
  RequestObservation& operator=(const RequestObservation&) = delete;

  void begin(const RequestHead& head);
  // `generation`: the routing snapshot's (RuntimeConfig::generation), whose strings the views
  // of this call and of chose() point into.
  void routed(std::string_view router, std::string_view service, uint64_t generation) {
    if (!s_) return;
    s_->record.router = router;
    s_->record.service = service;
    s_->record.generation = generation;
  }
  // A server was chosen at `at` (the start of the OriginDuration).
  void chose(std::string_view url, std::string_view addr, ObservationState::Clock::time_point at);
  void retried() {
    if (s_) ++s_->record.retries;
  }
  void internal() {
    if (s_) s_->record.internal = true;
  }
  // The status sent: portier's own answer; origin_head() the server's; a codec's error wins.
  void local(int status, uint64_t body) {
    if (!s_) return;
    s_->record.status = status;
    s_->record.response_bytes = body;
  }
  void origin_head(int status);
  void error(int status) {
    if (s_) s_->record.status = status;
  }
  // The authenticated user (basicAuth, digestAuth, forwardAuth's headerField).
  void user(std::string_view name) {
    if (!s_) return;
    s_->user.assign(name);
    s_->record.client_username = s_->user;
  }
  void request_body(uint64_t n) {
    if (s_) s_->record.request_bytes = n;
  }
  void response_body(uint64_t n) {
    if (s_) s_->record.response_bytes = n;
  }
  // Response header fields, when the access log keeps some.
  bool wants_response_headers() const { return s_ && s_->capture_headers; }
  void response_header(std::string_view name, std::string_view value);

 private:
  void capture(const RequestHead& head, const ClientInfo& client);
  void capture_header_labels(const RequestHead& head);

  WorkerObserver& observer_;
  ObservationState* s_ = nullptr;  // null when nothing is observed
  const ClientInfo& client_;
};

}  // namespace portier::proxy
