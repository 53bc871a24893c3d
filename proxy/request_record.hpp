#pragma once
// What portier records of one HTTP request when it ends, for the access log and the metrics.
// Built by RequestObservation (request_observation.hpp) on the worker; its views are valid only
// during WorkerObserver::record().
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portier::proxy {

// Traefik's `method` label: the known verbs, anything else EXTENSION_METHOD.
enum class MethodLabel : uint8_t {
  GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, PRI, EXTENSION_METHOD
};
// Traefik's `protocol` label (pkg/middlewares/metrics): websocket, sse, grpc-web, grpc, http.
enum class ProtocolLabel : uint8_t { http, websocket, sse, grpc, grpc_web };

MethodLabel method_label(std::string_view method);
std::string_view method_label_text(MethodLabel m);
std::string_view protocol_label_text(ProtocolLabel p);

struct RequestRecord {
  std::chrono::system_clock::time_point start;  // wall clock, when the head was parsed
  std::chrono::nanoseconds duration{0};         // until the response was handed to the codec
  std::chrono::nanoseconds origin_duration{0};  // server chosen → response head (0: local)
  int status = 0;         // sent to the client (499 when the client left first)
  int origin_status = 0;  // the server's; 0 when portier answered itself
  uint64_t request_bytes = 0;   // request body
  uint64_t response_bytes = 0;  // response body
  int retries = 0;
  int http_version = 11;  // 10, 11, 20, 30
  bool tls = false;
  bool internal = false;  // ping / metrics answered on an entrypoint
  bool served = false;    // a server of the service was chosen (Traefik's service handler ran)
  MethodLabel method_label = MethodLabel::GET;
  ProtocolLabel protocol = ProtocolLabel::http;
  std::string_view entry_point;
  std::string_view router;   // "" when no router matched
  std::string_view service;  // the router's service ("" when no router matched)
  std::string_view server_url;
  std::string_view server_addr;  // host:port of the server URL
  // The routing snapshot's generation (RuntimeConfig::generation) that router, service,
  // server_url and server_addr point into; 0 when no router matched. Within one generation
  // the same view addresses hold the same texts.
  uint64_t generation = 0;
  std::string_view tls_version;  // "1.3"
  std::string_view tls_cipher;   // IANA name
  // metrics.prometheus.headerLabels: the request's header values, in label-name order, each
  // followed by '\x1f' ("" when none are configured).
  std::string_view header_values;
  // Captured only while an access log is on:
  std::string_view method, path, host, client_ip, forwarded_for;
  std::string_view client_username;  // "" when no middleware authenticated a user
  uint16_t client_port = 0;
  // Header fields the access log keeps or redacts: canonical name, value (joined with ",").
  const std::vector<std::pair<std::string, std::string>>* request_headers = nullptr;
  const std::vector<std::pair<std::string, std::string>>* response_headers = nullptr;
};

}  // namespace portier::proxy
