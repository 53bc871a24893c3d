#include "proxy/buffered_body.hpp"

#include <cstring>

namespace portier::proxy {

bool BufferedBody::append(std::string_view data, int64_t memory_limit) {
  if (!file_ && memory_limit > 0 && memory_.size() + data.size() > static_cast<uint64_t>(memory_limit)) {
    file_.reset(std::tmpfile());
    if (!file_) return false;
    if (!memory_.empty() && std::fwrite(memory_.data(), 1, memory_.size(), file_.get()) != memory_.size()) return false;
    std::string().swap(memory_);
  }
  if (file_) {
    if (std::fwrite(data.data(), 1, data.size(), file_.get()) != data.size()) return false;
  } else {
    memory_.append(data);
  }
  size_ += data.size();
  return true;
}

void BufferedBody::replace(std::string data) {
  file_.reset();
  memory_ = std::move(data);
  size_ = memory_.size();
}

size_t BufferedBody::read(size_t offset, char* buf, size_t len) {
  if (offset >= size_) return 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
  if (!file_) {
    std::memcpy(buf, memory_.data() + offset, len);
    return len;
  }
  std::fflush(file_.get());
  if (std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0) return 0;
  return std::fread(buf, 1, len, file_.get());
}

void BufferedBody::restore_leftover(IoBuffer& in) {
  if (leftover.empty()) return;
  auto space = in.prepare(leftover.size());
  std::memcpy(space.data(), leftover.data(), leftover.size());
  in.commit(leftover.size());
  leftover.clear();
}

}  // namespace portier::proxy
