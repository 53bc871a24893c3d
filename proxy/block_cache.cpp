#include "proxy/block_cache.hpp"

#include <array>
#include <vector>

namespace portier::proxy {
namespace {

constexpr std::array<size_t, 4> kSizes = {1024, 4096, 16384, 65536};
// Blocks kept per size and thread: enough for the connections a worker has in flight at
// once (idle ones hold none), small enough that an idle worker keeps little (~3 MiB).
constexpr std::array<size_t, 4> kKeep = {512, 128, 64, 16};

int size_class(size_t size) {
  for (size_t i = 0; i < kSizes.size(); ++i)
    if (size <= kSizes[i]) return static_cast<int>(i);
  return -1;
}

thread_local bool cache_gone = false;  // trivially destructible: readable during thread exit

struct Cache {
  std::array<std::vector<char*>, kSizes.size()> free;
  ~Cache() {
    cache_gone = true;
    for (auto& list : free)
      for (char* b : list) delete[] b;
  }
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

}  // namespace

char* acquire_block(size_t& size) {
  int c = size_class(size);
  if (c < 0 || cache_gone) return new char[size];
  size = kSizes[c];
  auto& list = cache().free[c];
  if (list.empty()) return new char[size];
  char* b = list.back();
  list.pop_back();
  return b;
}

void release_block(char* block, size_t capacity) noexcept {
  if (!block) return;
  int c = size_class(capacity);
  if (c >= 0 && kSizes[c] == capacity && !cache_gone) {
    auto& list = cache().free[c];
    if (list.size() < kKeep[c]) {
      if (list.capacity() == 0) list.reserve(kKeep[c]);
      list.push_back(block);
      return;
    }
  }
  delete[] block;
}

}  // namespace portier::proxy
