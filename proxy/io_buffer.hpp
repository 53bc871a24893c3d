#pragma once
// A growable byte window for one connection: [read_pos, write_pos) holds unread bytes.
// Memory is released when the window is empty and the connection goes idle, so idle
// keep-alive connections cost no buffer.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include <boost/asio/buffer.hpp>

namespace portier::proxy {

class IoBuffer {
 public:
  std::string_view readable() const { return {data_.get() + rpos_, wpos_ - rpos_}; }
  size_t size() const { return wpos_ - rpos_; }
  bool empty() const { return rpos_ == wpos_; }
  void consume(size_t n) {
    rpos_ += std::min(n, size());
    if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  }
  // Space for at least `min` more bytes (compacting or growing, up to `max_capacity`).
  boost::asio::mutable_buffer prepare(size_t min = 4096, size_t max_capacity = 1 << 20) {
    if (cap_ - wpos_ < min && rpos_ > 0) {
      std::memmove(data_.get(), data_.get() + rpos_, wpos_ - rpos_);
      wpos_ -= rpos_;
      rpos_ = 0;
    }
    if (cap_ - wpos_ < min) {
      size_t want = std::min(std::max(cap_ * 2, wpos_ + min), std::max(max_capacity, wpos_ + min));
      want = std::max<size_t>(want, min);
      std::unique_ptr<char[]> bigger(new char[want]);
      if (wpos_) std::memcpy(bigger.get(), data_.get(), wpos_);
      data_ = std::move(bigger);
      cap_ = want;
    }
    return {data_.get() + wpos_, cap_ - wpos_};
  }
  void commit(size_t n) { wpos_ += n; }
  void release_if_empty() {
    if (empty()) {
      data_.reset();
      cap_ = rpos_ = wpos_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0, rpos_ = 0, wpos_ = 0;
};

}  // namespace portier::proxy
