#pragma once
// Process-wide logging to stderr. Thread-safe: each line is written with one write(2).
#include <sstream>
#include <string>
#include <string_view>

namespace portier::core {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
void set_log_json(bool json);
bool parse_log_level(std::string_view text, LogLevel& out);
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
