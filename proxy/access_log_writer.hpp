#pragma once
// The access log's one writer thread: workers hand it batches of formatted lines; it writes
// them to the file (or stdout) with write(2). A worker never waits for it: when more than
// `max_lines` lines are queued, a batch is refused and the worker counts it as dropped.
// reopen() (SIGUSR1, logrotate) makes the thread reopen the file before its next write.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/log_buffer.hpp"

namespace portier::proxy {

class AccessLogWriter {
 public:
  // `path`: "" = stdout. Opens the file now: "" in *error, or why it cannot be opened.
  AccessLogWriter(std::string path, uint64_t max_lines, std::string* error);
  ~AccessLogWriter();  // writes what is queued, then joins
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  // Any thread. False (nothing kept) when the queue is full. `*spare` receives an empty
  // buffer with the capacity of a batch already written (or `batch` itself when refused), so
  // the caller's next batch needs no allocation; left as is when there is none.
  bool submit(LogBuffer batch, uint64_t lines, LogBuffer* spare = nullptr);
  // Any thread: reopen the file before the next write.
  void reopen();
  // Blocks until everything submitted so far is written (tests, shutdown).
  void flush();

 private:
  void run();
  void write_all(const LogBuffer& data);

  std::string path_;
  uint64_t max_lines_;
  int fd_ = 1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<LogBuffer> queue_;
  std::vector<LogBuffer> writing_;  // the writer thread's: the batches being written
  std::vector<LogBuffer> spares_;   // written batches, emptied, for submit()'s *spare
  uint64_t queued_lines_ = 0;
  uint64_t submitted_ = 0, done_ = 0;  // batches
  bool reopen_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace portier::proxy
