#pragma once
// Server choice through a tree of services, with Traefik's service types:
//   loadBalancer  one of its healthy servers: the sticky cookie's, else the next in the
//                 worker's smooth weighted round robin
//   weighted      one of its children (weight > 0) by smooth weighted round robin, or the one
//                 its own sticky cookie names; with `healthCheck: {}` children that are down are
//                 passed over (without it a child is taken whatever its health, as in Traefik)
//   failover      its main service while that one is up, else its fallback (whose health counts
//                 only with the failover's `healthCheck: {}`)
//   mirroring     its main service; the mirrors whose turn it is (percent) are listed so the
//                 request can be copied to them afterwards
// A service is up (service_up) when: a load balancer has a healthy server; a weighted service
// has a child that is up; a mirroring service's main service is up; a failover's main or
// fallback is up. The merge guarantees that every service whose health a parent follows
// reports it (config/dynamic_merge.cpp), and that there is no cycle.
// Worker thread only; round-robin positions and mirror turns are the worker's (Worker::next_rr).
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "proxy/http1_parser.hpp"
#include "proxy/runtime_config.hpp"

namespace portier::proxy {

class Worker;

// A copy of the request to send to `server` (of load balancer `service`) once the exchange is
// over; `of` is the mirroring service that asked for it (mirrorBody, maxBodySize).
struct MirrorTarget {
  const ServiceRuntime* service = nullptr;
  const UpstreamServer* server = nullptr;
  const ServiceRuntime* of = nullptr;
};

struct ServiceChoice {
  const UpstreamServer* server = nullptr;   // null: no server available (503)
  const ServiceRuntime* service = nullptr;  // the load balancer `server` belongs to
  boost::container::small_vector<std::string, 1> cookies;  // Set-Cookie values for the client
  std::vector<MirrorTarget> mirrors;
};

// Chooses the server for a request routed to service `index` of `rc`.
ServiceChoice pick_server(Worker& worker, const RequestHead& head, const RuntimeConfig& rc,
                          uint32_t index);

bool service_up(const RuntimeConfig& rc, uint32_t index);

// The Set-Cookie value that pins a client to what `value` names (a server or a child service).
std::string sticky_cookie_header(const config::StickyCookie& sticky, std::string_view value);

}  // namespace portier::proxy
