#include "core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace portier::core {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::atomic<bool> g_json{false};
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
  [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

}  // namespace portier::core
