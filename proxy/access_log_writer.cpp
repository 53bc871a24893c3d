#include "proxy/access_log_writer.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.hpp"

namespace portier::proxy {

namespace {
constexpr size_t kSpares = 8;  // emptied batches kept for reuse

// Traefik creates the directory and opens the file O_APPEND, mode 0664.
int open_log(const std::string& path, std::string* error) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0 && error) *error = "cannot open access log " + path + ": " + std::strerror(errno);
  return fd;
}
}  // namespace

AccessLogWriter::AccessLogWriter(std::string path, uint64_t max_lines, std::string* error)
    : path_(std::move(path)), max_lines_(max_lines) {
  error->clear();
  if (!path_.empty()) {
    fd_ = open_log(path_, error);
    if (fd_ < 0) return;
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "portier-log");  // top -H, bench/run.sh --observe
    run();
  });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ > 2) ::close(fd_);
}

bool AccessLogWriter::submit(LogBuffer batch, uint64_t lines, LogBuffer* spare) {
  {
    std::lock_guard lock(mutex_);
    if (fd_ < 0 || queued_lines_ + lines > max_lines_) {
      if (spare) {
        batch.clear();
        *spare = std::move(batch);
      }
      return false;
    }
    queued_lines_ += lines;
    ++submitted_;
    queue_.push_back(std::move(batch));
    if (spare && !spares_.empty()) {
      *spare = std::move(spares_.back());
      spares_.pop_back();
    }
  }
  wake_.notify_one();
  return true;
}

void AccessLogWriter::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void AccessLogWriter::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = submitted_;
  written_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
}

void AccessLogWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || reopen_ || !queue_.empty(); });
    if (reopen_ && !path_.empty()) {
      reopen_ = false;
      lock.unlock();
      std::string error;
      int fd = open_log(path_, &error);
      if (fd >= 0) {
        ::dup2(fd, fd_);  // the same descriptor now names the new file
        ::close(fd);
      } else {
        core::log_error(error);
      }
      lock.lock();
    }
    reopen_ = false;
    writing_.swap(queue_);
    queued_lines_ = 0;
    bool stopping = stop_;
    lock.unlock();
    for (const auto& b : writing_) write_all(b);
    lock.lock();
    done_ += writing_.size();
    for (auto& b : writing_) {
      if (spares_.size() >= kSpares) break;
      b.clear();
      spares_.push_back(std::move(b));
    }
    writing_.clear();
    written_.notify_all();
    if (stopping && queue_.empty()) return;
  }
}

void AccessLogWriter::write_all(const LogBuffer& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      core::log_error("access log: write failed: ", std::strerror(errno));
      return;
    }
    off += static_cast<size_t>(n);
  }
}

}  // namespace portier::proxy
