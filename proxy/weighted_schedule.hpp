#pragma once
// nginx's smooth weighted round robin, unrolled into one period (at most 4096 slots): the
// order in which servers of weights `weights` are picked. Shared by HTTP and TCP services.
#include <cstdint>
#include <vector>

namespace portier::proxy {

std::vector<uint32_t> weighted_schedule(const std::vector<int>& weights);

}  // namespace portier::proxy
