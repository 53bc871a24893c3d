#include "core/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace portier::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<bool> g_json{false};
std::atomic<int> g_fd{2};
std::mutex g_file_mutex;  // guards g_path and reopening
std::string g_path;

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}
const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}
std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
void set_log_json(bool json) { g_json = json; }
bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

bool parse_log_level(std::string_view text, LogLevel& out) {
  std::string t(text);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "debug" || t == "trace") out = LogLevel::debug;
  else if (t == "info") out = LogLevel::info;
  else if (t == "warn" || t == "warning") out = LogLevel::warn;
  else if (t == "error" || t == "fatal" || t == "panic") out = LogLevel::error;
  else return false;
  return true;
}

std::string set_log_file(const std::string& path) {
  std::lock_guard lock(g_file_mutex);
  int fd = open_append(path);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  int old = g_fd.exchange(fd);
  if (old != 2) ::close(old);
  g_path = path;
  return {};
}

std::string reopen_log_file() {
  std::lock_guard lock(g_file_mutex);
  if (g_path.empty()) return {};
  int fd = open_append(g_path);
  if (fd < 0) return "cannot reopen " + g_path + ": " + std::strerror(errno);
  ::dup2(fd, g_fd.load());  // same descriptor, new file: no writer can hit a closed one
  ::close(fd);
  return {};
}

void log_line(LogLevel level, std::string_view message) {
  std::string line;
  if (g_json.load(std::memory_order_relaxed)) {
    nlohmann::json j{{"time", timestamp()}, {"level", level_name(level)}, {"msg", message}};
    // replace: a message quoting outside input may hold bytes that are not UTF-8, which the
    // default strict dump would throw on, from whatever logs it.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = timestamp() + " " + level_name(level) + " " + std::string(message) + "\n";
  }
  [[maybe_unused]] auto n = ::write(g_fd.load(std::memory_order_relaxed), line.data(), line.size());
}

}  // namespace portier::core
