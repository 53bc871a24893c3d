#pragma once
// TcpGate: one TCP router's middlewares (Traefik's TCP ipAllowList / ipWhiteList and
// inFlightConn), checked once per connection after routing, before the dial or the TLS
// handshake. A refused connection is closed at once and nothing reaches the backend.
// Immutable once compiled (control thread) and shared by every worker; inFlightConn's counters
// (InFlightCounter) are shared across workers behind their own locks, keyed by client IP.
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/dynamic.hpp"
#include "proxy/in_flight_counter.hpp"
#include "proxy/ip_strategy.hpp"

namespace portier::proxy {

class TcpGate {
 public:
  // The router's middlewares in order, resolved in `all` (qualified names). Null with *error
  // set when one does not exist or cannot be compiled (a bad sourceRange, amount < 1).
  static std::shared_ptr<const TcpGate> make(
      const std::vector<std::string>& names,
      const std::map<std::string, config::TcpMiddleware>& all, std::string* error);

  // Whether a connection from `peer` may go on. Slots taken are appended to `holds`: the
  // connection keeps them until it ends. Any worker thread.
  bool admit(const boost::asio::ip::address& peer,
             std::vector<std::unique_ptr<RequestHold>>& holds) const;

 private:
  struct Step {
    std::optional<IpRanges> allow;               // ipAllowList / ipWhiteList
    std::shared_ptr<InFlightCounter> in_flight;  // inFlightConn
  };
  std::vector<Step> steps_;
};

}  // namespace portier::proxy
