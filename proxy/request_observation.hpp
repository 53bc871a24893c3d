#pragma once
// The record of one request for the access log and the metrics, kept by the RequestPipeline
// (one per request, on the codec's coroutine frame, worker thread) and handed to the worker's
// WorkerObserver when the pipeline ends, i.e. when the codec is done with the request. Costs
// nothing but a branch when neither the access log nor the metrics are on; copies the
// request's method, path, host and kept header fields only while an access log is on (the
// codec's views do not live until the end).
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

#include "proxy/forwarding.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/request_record.hpp"
#include "proxy/worker_observer.hpp"

namespace portier::proxy {

struct ListenerInfo;

class RequestObservation {
 public:
  // `http_version`: 20 for HTTP/2, 0 to take it from the head (HTTP/1.0 or 1.1).
  RequestObservation(WorkerObserver& observer, const ListenerInfo& listener,
                     const ClientInfo& client, SSL* ssl, int http_version);
  ~RequestObservation();
  RequestObservation(const RequestObservation&) = delete;
  RequestObservation& operator=(const RequestObservation&) = delete;

  bool active() const { return active_; }
  void begin(const RequestHead& head);
  void routed(std::string_view router, std::string_view service) {
    record_.router = router;
    record_.service = service;
  }
  void chose(std::string_view url, std::string_view addr);
  void internal() { record_.internal = true; }
  // The status sent: portier's own answer (status 0 → origin's); a codec's error wins.
  void local(int status, uint64_t body) {
    record_.status = status;
    record_.response_bytes = body;
  }
  void origin_head(int status);
  void error(int status) { record_.status = status; }
  void request_body(uint64_t n) { record_.request_bytes = n; }
  void response_body(uint64_t n) { record_.response_bytes = n; }
  // Response header fields, when the access log keeps some.
  bool wants_response_headers() const { return capture_headers_; }
  void response_header(std::string_view name, std::string_view value);

 private:
  using Clock = std::chrono::steady_clock;
  void capture(const RequestHead& head);
  static void add_field(std::vector<std::pair<std::string, std::string>>& list,
                        std::string name, std::string_view value);

  WorkerObserver& observer_;
  const ClientInfo& client_;
  SSL* ssl_;
  bool active_;
  bool began_ = false;
  bool capture_headers_ = false;
  RequestRecord record_;
  Clock::time_point t0_{}, origin_t0_{};
  std::string method_, path_, host_, forwarded_for_;
  std::vector<std::pair<std::string, std::string>> request_headers_, response_headers_;
};

}  // namespace portier::proxy
