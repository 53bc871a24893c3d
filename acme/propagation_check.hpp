#pragma once
// Waits until a DNS-01 TXT record is visible where the CA will look, honouring Traefik's
// dnsChallenge knobs: delayBeforeChecks, disableChecks, disableANSChecks (then only the
// configured resolvers are asked), requireAllRNS, and the propagation timeout.
//
// Authoritative check: NS of the zone (asked through the resolvers, or the system's), each
// nameserver's IPv4 addresses, then the TXT question straight to every one of them without
// recursion: every nameserver must serve the value.
//
// Thread: control thread (coroutine on `executor`).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <string>

#include "config/static_config.hpp"

namespace portier::acme {

struct PropagationTarget {
  std::string fqdn;   // "_acme-challenge.app.example.com"
  std::string value;  // the TXT value
  std::string zone;   // "example.com"
};

// "" once visible, else why it was not within the timeout (the last failing server named).
boost::asio::awaitable<std::string> wait_for_propagation(boost::asio::any_io_executor executor,
                                                        config::DnsChallenge settings,
                                                        PropagationTarget target,
                                                        std::chrono::milliseconds poll_interval =
                                                            std::chrono::milliseconds(2000));

// "1.1.1.1" -> "1.1.1.1:53"; "[::1]" -> "[::1]:53"; "host:port" unchanged.
std::string with_dns_port(const std::string& server);

}  // namespace portier::acme
