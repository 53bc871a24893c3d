// TcpGate: a TCP router's ipAllowList / ipWhiteList / inFlightConn, compiled and checked per
// connection.
#include "proxy/tcp_gate.hpp"

#include <catch2/catch.hpp>

using namespace portier;
using boost::asio::ip::make_address;

namespace {

std::map<std::string, config::TcpMiddleware> middlewares() {
  std::map<std::string, config::TcpMiddleware> all;
  all["office"].spec = config::TcpIpAllowListMw{{"192.0.2.0/24", "2001:db8::/32"}};
  all["legacy"].spec = config::TcpIpWhiteListMw{{"192.0.2.7"}};
  all["two"].spec = config::TcpInFlightConnMw{2};
  all["none"].spec = config::TcpInFlightConnMw{0};
  all["empty"].spec = config::TcpIpAllowListMw{};
  all["bad"].spec = config::TcpIpAllowListMw{{"300.1.1.1/8"}};
  return all;
}

std::string error_of(const std::string& name) {
  std::string error;
  CHECK(proxy::TcpGate::make({name}, middlewares(), &error) == nullptr);
  return error;
}

}  // namespace

TEST_CASE("TcpGate: sourceRange admits addresses in range, IPv4 and IPv6") {
  std::string error;
  auto gate = proxy::TcpGate::make({"office"}, middlewares(), &error);
  REQUIRE(gate);
  std::vector<std::unique_ptr<proxy::RequestHold>> holds;
  CHECK(gate->admit(make_address("192.0.2.200"), holds));
  CHECK(gate->admit(make_address("2001:db8::5"), holds));
  CHECK_FALSE(gate->admit(make_address("198.51.100.1"), holds));
  CHECK_FALSE(gate->admit(make_address("2001:db9::5"), holds));
  CHECK(holds.empty());
}

TEST_CASE("TcpGate: every middleware of the chain must admit") {
  std::string error;
  auto gate = proxy::TcpGate::make({"office", "legacy"}, middlewares(), &error);
  REQUIRE(gate);
  std::vector<std::unique_ptr<proxy::RequestHold>> holds;
  CHECK(gate->admit(make_address("192.0.2.7"), holds));
  CHECK_FALSE(gate->admit(make_address("192.0.2.8"), holds));
}

TEST_CASE("TcpGate: inFlightConn counts per client IP until the holds are released") {
  std::string error;
  auto gate = proxy::TcpGate::make({"two"}, middlewares(), &error);
  REQUIRE(gate);
  std::vector<std::unique_ptr<proxy::RequestHold>> a, b, c, other;
  CHECK(gate->admit(make_address("192.0.2.1"), a));
  CHECK(gate->admit(make_address("192.0.2.1"), b));
  CHECK_FALSE(gate->admit(make_address("192.0.2.1"), c));
  CHECK(c.empty());
  CHECK(gate->admit(make_address("192.0.2.2"), other));
  a.clear();
  CHECK(gate->admit(make_address("192.0.2.1"), c));
}

TEST_CASE("TcpGate: a refused allow list takes no in-flight slot") {
  std::string error;
  auto gate = proxy::TcpGate::make({"legacy", "two"}, middlewares(), &error);
  REQUIRE(gate);
  std::vector<std::unique_ptr<proxy::RequestHold>> holds;
  CHECK_FALSE(gate->admit(make_address("192.0.2.9"), holds));
  CHECK(holds.empty());
}

TEST_CASE("TcpGate: configuration errors") {
  CHECK(error_of("missing") == "middleware \"missing\" does not exist");
  CHECK(error_of("none") == "middleware \"none\": amount must be greater than 0");
  CHECK(error_of("empty") == "middleware \"empty\": sourceRange is empty");
  CHECK(error_of("bad").find("middleware \"bad\": ") == 0);
}
