#include "proxy/request_record.hpp"

#include <array>

namespace portier::proxy {

namespace {
constexpr std::array<std::string_view, 11> kMethods{
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI",
    "EXTENSION_METHOD"};
}

MethodLabel method_label(std::string_view method) {
  for (size_t i = 0; i + 1 < kMethods.size(); ++i)
    if (kMethods[i] == method) return static_cast<MethodLabel>(i);
  return MethodLabel::EXTENSION_METHOD;
}

std::string_view method_label_text(MethodLabel m) { return kMethods[static_cast<size_t>(m)]; }

std::string_view protocol_label_text(ProtocolLabel p) {
  switch (p) {
    case ProtocolLabel::websocket: return "websocket";
    case ProtocolLabel::sse: return "sse";
    case ProtocolLabel::grpc: return "grpc";
    case ProtocolLabel::grpc_web: return "grpc-web";
    case ProtocolLabel::http: break;
  }
  return "http";
}

}  // namespace portier::proxy
