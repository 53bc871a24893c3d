#pragma once
// Internal to the label decoder: one label's field path applied to the object it names,
// through the schema of config/dynamic_schema.hpp (keys as in YAML, matched case-
// insensitively). Field paths arrive split on '.'; map keys keep their case in `raw`.
// Each setter returns "" or what is wrong with the value or the field; none throws.
#include <map>
#include <string>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::discovery::labels {

struct FieldPath {
  std::vector<std::string> lower;  // lowercased tokens
  std::vector<std::string> raw;    // tokens as written
  std::string joined() const;      // lowercased, '.'-joined
};

// A service as labels write it: one server given by port (or url / address) next to the
// load balancer's settings.
struct RawHttpService {
  config::LoadBalancer lb;
  int port = 0;  // 0 = the container's lowest exposed port
  std::string scheme, url;
  int weight = 1;
};
struct RawTcpService {
  config::TcpService svc;
  int port = 0;
  std::string address;
  int weight = 1;
  bool tls = false;
};
struct RawUdpService {
  config::UdpService svc;
  int port = 0;
  std::string address;
  int weight = 1;
};
template <class Spec>  // config::MiddlewareSpec or config::TcpMiddlewareSpec
struct RawMiddlewareOf {
  std::string type;  // "" until a field sets it
  Spec spec;
};
using RawMiddleware = RawMiddlewareOf<config::MiddlewareSpec>;
using RawTcpMiddleware = RawMiddlewareOf<config::TcpMiddlewareSpec>;

std::string set_http_router(config::HttpRouter& r, const FieldPath& f, const std::string& value);
std::string set_http_service(RawHttpService& s, const FieldPath& f, const std::string& value);
std::string set_middleware(RawMiddleware& m, const FieldPath& f, const std::string& value);
std::string set_middleware(RawTcpMiddleware& m, const FieldPath& f, const std::string& value);
std::string set_tcp_router(config::TcpRouter& r, const FieldPath& f, const std::string& value);
std::string set_tcp_service(RawTcpService& s, const FieldPath& f, const std::string& value);
std::string set_udp_router(config::UdpRouter& r, const FieldPath& f, const std::string& value);
std::string set_udp_service(RawUdpService& s, const FieldPath& f, const std::string& value);

}  // namespace portier::discovery::labels
