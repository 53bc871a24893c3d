#pragma once
// The last `Capacity` HTTP/2 stream identifiers added, for the checks that need to know how a
// closed stream ended (nghttp2 forgets closed streams). The storage is taken on the first
// add(), so a connection that never needs it pays nothing. Worker thread only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace portier::proxy {

template <size_t Capacity>
class RecentStreamIds {
 public:
  void add(int32_t id) {
    if (ids_.size() < Capacity) {
      ids_.push_back(id);
      return;
    }
    ids_[next_] = id;
    next_ = (next_ + 1) % Capacity;
  }
  bool contains(int32_t id) const { return std::find(ids_.begin(), ids_.end(), id) != ids_.end(); }

 private:
  std::vector<int32_t> ids_;
  size_t next_ = 0;
};

}  // namespace portier::proxy
