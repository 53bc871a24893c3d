#include "proxy/weighted_schedule.hpp"

#include <algorithm>
#include <numeric>

namespace portier::proxy {

std::vector<uint32_t> weighted_schedule(const std::vector<int>& input) {
  std::vector<uint32_t> order;
  if (input.empty()) return order;
  std::vector<int> weights;
  for (int w : input) weights.push_back(std::max(1, w));
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
    order.push_back(static_cast<uint32_t>(best));
  }
  return order;
}

}  // namespace portier::proxy
