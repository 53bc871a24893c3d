#pragma once
// A growable byte window for one connection: [read_pos, write_pos) holds unread bytes.
// Memory is released when the window is empty and the connection goes idle, so idle
// keep-alive connections cost no buffer. Blocks of the common sizes come from a per-thread
// cache (see block_cache.hpp), so a request that takes and releases buffers costs no malloc.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>

#include "proxy/block_cache.hpp"

namespace portier::proxy {

class IoBuffer {
 public:
  IoBuffer() = default;
  ~IoBuffer() { release_block(data_, cap_); }
  IoBuffer(IoBuffer&& o) noexcept { swap(o); }
  IoBuffer& operator=(IoBuffer&& o) noexcept {
    IoBuffer gone(std::move(o));
    swap(gone);
    return *this;
  }
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  std::string_view readable() const { return {data_ + rpos_, wpos_ - rpos_}; }
  size_t size() const { return wpos_ - rpos_; }
  bool empty() const { return rpos_ == wpos_; }
  void consume(size_t n) {
    rpos_ += std::min(n, size());
    if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  }
  // Space for at least `min` more bytes (compacting or growing, up to `max_capacity`).
  boost::asio::mutable_buffer prepare(size_t min = 4096, size_t max_capacity = 1 << 20) {
    if (cap_ - wpos_ < min && rpos_ > 0) {
      std::memmove(data_, data_ + rpos_, wpos_ - rpos_);
      wpos_ -= rpos_;
      rpos_ = 0;
    }
    if (cap_ - wpos_ < min) grow(std::max<size_t>(
        std::min(std::max(cap_ * 2, wpos_ + min), std::max(max_capacity, wpos_ + min)), min));
    return {data_ + wpos_, cap_ - wpos_};
  }
  void commit(size_t n) { wpos_ += n; }
  void release_if_empty() {
    if (empty()) {
      release_block(data_, cap_);
      data_ = nullptr;
      cap_ = rpos_ = wpos_ = 0;
    }
  }

 private:
  void grow(size_t want) {
    size_t cap = want;
    char* bigger = acquire_block(cap);
    if (wpos_) std::memcpy(bigger, data_, wpos_);
    release_block(data_, cap_);
    data_ = bigger;
    cap_ = cap;
  }
  void swap(IoBuffer& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(cap_, o.cap_);
    std::swap(rpos_, o.rpos_);
    std::swap(wpos_, o.wpos_);
  }

  char* data_ = nullptr;
  size_t cap_ = 0, rpos_ = 0, wpos_ = 0;
};

}  // namespace portier::proxy
