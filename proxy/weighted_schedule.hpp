#pragma once
// nginx's smooth weighted round robin, unrolled into one period (at most 4096 slots): the
// order in which servers of weights `weights` are picked. Shared by HTTP and TCP services.
// An entry whose weight is 0 (or negative) is never in it, as in Traefik's balancers; when no
// weight is positive the order is empty (no server to choose).
#include <cstdint>
#include <vector>

namespace portier::proxy {

std::vector<uint32_t> weighted_schedule(const std::vector<int>& weights);

}  // namespace portier::proxy
