#pragma once
// Internal to the label decoder: the Traefik label grammar, one setter per object kind.
// Field paths arrive lowercased and split on '.'; map keys keep their case in `raw`.
// Each setter returns "" or what is wrong with the value or the field.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.hpp"

namespace portier::discovery::labels {

struct FieldPath {
  std::vector<std::string> lower;  // lowercased tokens
  std::vector<std::string> raw;    // tokens as written
  std::string joined() const;      // lowercased, '.'-joined
};

struct RawHttpService {
  config::LoadBalancer lb;
  std::string port, scheme, url;
  int weight = 1;
};
struct RawTcpService {
  config::TcpService svc;
  std::string port, address;
  int weight = 1;
};
struct RawUdpService {
  config::UdpService svc;
  std::string port, address;
  int weight = 1;
};
struct RawMiddleware {
  std::string type;  // "" until a field sets it
  config::MiddlewareSpec spec;
};

std::string set_http_router(config::HttpRouter& r, const FieldPath& f, const std::string& value);
std::string set_http_service(RawHttpService& s, const FieldPath& f, const std::string& value);
std::string set_middleware(RawMiddleware& m, const FieldPath& f, const std::string& value);
std::string set_tcp_router(config::TcpRouter& r, const FieldPath& f, const std::string& value);
std::string set_tcp_service(RawTcpService& s, const FieldPath& f, const std::string& value);
std::string set_udp_router(config::UdpRouter& r, const FieldPath& f, const std::string& value);
std::string set_udp_service(RawUdpService& s, const FieldPath& f, const std::string& value);

// Value parsers (Go semantics where Traefik uses Go's).
bool parse_bool(const std::string& text, bool& out);
bool parse_int(const std::string& text, int64_t& out);
bool parse_port(const std::string& text, int& out);  // 1..65535
std::vector<std::string> split_list(const std::string& text);       // comma list, trimmed

}  // namespace portier::discovery::labels
