#pragma once
// A growable byte buffer for access log lines. Unlike std::string, the room reserved for a line
// is not zero-filled first (std::string::resize wrote ~1.5 KiB of zeros per line): a formatter
// reserves an upper bound, writes into it and commits what it wrote. One owner at a time
// (a worker's pending batch, then the writer thread's queue); moved, never copied.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace portier::proxy {

// Copies the n bytes at src to dst and returns dst + n. Most texts of a log line are short: up
// to 32 bytes they are copied by fixed-size moves, which read and write only inside the text
// (two overlapping halves), instead of a call to memcpy.
inline char* copy_text(char* dst, const char* src, size_t n) {
  if (n == 0) return dst;  // an empty view may have no data pointer (memcpy needs one)
  if (n > 32) {
#pragma GCC diagnostic push  // GCC 12 sees sizes above PTRDIFF_MAX on a path that has none
#pragma GCC diagnostic ignored "-Wstringop-overflow"
    std::memcpy(dst, src, n);
#pragma GCC diagnostic pop
  } else if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
  return dst + n;
}

class LogBuffer {
 public:
  LogBuffer() = default;
  LogBuffer(LogBuffer&& o) noexcept
      : data_(std::move(o.data_)), size_(std::exchange(o.size_, 0)), capacity_(std::exchange(o.capacity_, 0)) {}
  LogBuffer& operator=(LogBuffer&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
    return *this;
  }

  // Room for `n` more bytes past size(), uninitialised; the pointer is valid until the next
  // reserve(). Nothing is part of the buffer until commit().
  char* reserve(size_t n) {
    if (capacity_ - size_ < n) grow(size_ + n);
    return data_.get() + size_;
  }
  // The bytes up to `end`, which lies in the room of the last reserve(), are kept.
  void commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  void append(std::string_view s) {
    char* p = reserve(s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    size_ += s.size();
  }

  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {data_.get(), size_}; }
  void clear() { size_ = 0; }  // keeps the capacity

 private:
  void grow(size_t need) {
    size_t capacity = std::max({need, 2 * capacity_, size_t{4096}});
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace portier::proxy
