#include "config/dynamic.hpp"

namespace portier::config {

const char* middleware_type(const MiddlewareSpec& spec) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::type; }, spec);
}

const char* middleware_type(const TcpMiddlewareSpec& spec) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::type; }, spec);
}

}  // namespace portier::config
