#include "proxy/weighted_schedule.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>

namespace portier::proxy {

std::vector<uint32_t> weighted_schedule(const std::vector<int>& input) {
  std::vector<uint32_t> order;
  std::vector<uint32_t> positions;  // the entries that take part: a positive weight
  std::vector<int> weights;
  for (size_t k = 0; k < input.size(); ++k)
    if (input[k] > 0) {
      positions.push_back(static_cast<uint32_t>(k));
      weights.push_back(input[k]);
    }
  if (weights.empty()) return order;
  int g = std::accumulate(weights.begin(), weights.end(), 0, [](int a, int b) { return std::gcd(a, b); });
  for (int& w : weights) w /= g;
  int sum = std::accumulate(weights.begin(), weights.end(), 0);
  int total = std::min(sum, 4096);
  std::vector<int> current(weights.size(), 0);
  for (int i = 0; i < total; ++i) {
    size_t best = 0;
    for (size_t k = 0; k < weights.size(); ++k) {
      current[k] += weights[k];
      if (current[k] > current[best]) best = k;
    }
    current[best] -= sum;
    order.push_back(positions[best]);
  }
  return order;
}

}  // namespace portier::proxy
