#pragma once
// Process-wide logging to stderr or a file (log.filePath). Thread-safe: each line is written
// with one write(2); reopen_log_file() swaps the file under the same descriptor (dup2), so a
// line being written concurrently lands in the old or the new file, never elsewhere.
#include <sstream>
#include <string>
#include <string_view>

namespace portier::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
void set_log_json(bool json);
bool parse_log_level(std::string_view text, LogLevel& out);
// Appends to `path` (created 0640) from now on; "" on success, else why not.
std::string set_log_file(const std::string& path);
// SIGUSR1 (logrotate): reopens the file set by set_log_file, if any; "" or why not.
std::string reopen_log_file();
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

template <class... Args>
void log(LogLevel level, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, out.str());
}
template <class... Args> void log_debug(const Args&... a) { log(LogLevel::debug, a...); }
template <class... Args> void log_info(const Args&... a) { log(LogLevel::info, a...); }
template <class... Args> void log_warn(const Args&... a) { log(LogLevel::warn, a...); }
template <class... Args> void log_error(const Args&... a) { log(LogLevel::error, a...); }

}  // namespace portier::core
