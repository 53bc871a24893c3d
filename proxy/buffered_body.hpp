#pragma once
// A request body read whole before forwarding (the buffering middleware): in memory up to a
// limit, then in an unlinked temporary file, so a large upload costs bounded memory.
// Holds the raw wire bytes (chunked stays chunked), so the request's framing is unchanged.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/io_buffer.hpp"

namespace portier::proxy {

class BufferedBody {
 public:
  // Appends body bytes, spilling to a temp file once `memory_limit` is passed. False when the
  // temp file cannot be written.
  bool append(std::string_view data, int64_t memory_limit);
  uint64_t size() const { return size_; }
  // The body becomes `data` (in memory); from_input and leftover are kept.
  void replace(std::string data);
  // Bytes read past the end of the body (a pipelined next request) go back to the input.
  void restore_leftover(IoBuffer& in);

  size_t from_input = 0;  // body bytes taken from the connection's input buffer
  std::string leftover;

 private:
  struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
  };
  std::string memory_;
  std::unique_ptr<FILE, FileCloser> file_;
  uint64_t size_ = 0;

 public:
  // Sequential reading for the sender: fills `buf`, returns bytes (0 at the end).
  size_t read(size_t offset, char* buf, size_t len);
};

}  // namespace portier::proxy
