#include "app/live_upgrade.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

extern char** environ;

namespace portier::app {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using proxy::use_tuple;

constexpr const char* kReadyFdVariable = "PORTIER_UPGRADE_FD";

bool starts_with(const char* s, std::string_view prefix) { return std::strncmp(s, prefix.data(), prefix.size()) == 0; }

// The successor's environment: ours without systemd's socket variables, plus the handover's.
// LISTEN_PID is the last entry, its digits written by the child (its pid is known only there).
std::vector<std::string> successor_environment(const std::vector<std::pair<int, std::string>>& sockets) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (!starts_with(*e, "LISTEN_") && !starts_with(*e, kReadyFdVariable)) env.emplace_back(*e);
  std::string names = "LISTEN_FDNAMES=";
  for (size_t i = 0; i < sockets.size(); ++i) names += (i ? ":" : "") + sockets[i].second;
  env.push_back(std::move(names));
  env.push_back("LISTEN_FDS=" + std::to_string(sockets.size()));
  env.push_back(std::string(kReadyFdVariable) + "=" + std::to_string(3 + sockets.size()));
  env.push_back("LISTEN_PID=" + std::string(20, '\0'));
  return env;
}

// Between fork and exec: async-signal-safe calls only. Moves `fds` to 3.. and `ready` after
// them, closes every other descriptor, and execs.
[[noreturn]] void exec_successor(char* const* argv, char** envp, char* pid_digits, const std::vector<int>& fds,
                                 int ready) {
  const int n = static_cast<int>(fds.size());
  std::array<int, 1024> parked{};
  if (n >= static_cast<int>(parked.size())) _exit(126);
  for (int i = 0; i < n; ++i) parked[i] = ::fcntl(fds[i], F_DUPFD, 3 + n + 1);
  parked[n] = ::fcntl(ready, F_DUPFD, 3 + n + 1);
  for (int i = 0; i <= n; ++i)
    if (parked[i] < 0 || ::dup2(parked[i], 3 + i) < 0) _exit(126);
  ::close_range(3 + n + 1, UINT_MAX, 0);
  // LISTEN_PID: this process's pid, which exec keeps.
  char digits[20];
  int len = 0;
  for (pid_t pid = ::getpid(); pid > 0; pid /= 10) digits[len++] = static_cast<char>('0' + pid % 10);
  for (int i = 0; i < len; ++i) pid_digits[i] = digits[len - 1 - i];
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(argv[0], argv, envp);
  _exit(127);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

// After the successor failed: its exit status (it has `grace` to exit by itself once it closed
// the pipe), or it is killed.
proxy::awaitable<std::string> reap(pid_t pid, std::chrono::milliseconds grace) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  int status = 0;
  for (auto waited = std::chrono::milliseconds(0); waited < grace; waited += std::chrono::milliseconds(10)) {
    if (::waitpid(pid, &status, WNOHANG) == pid) co_return "it " + describe_exit(status) + " before it was ready";
    pause.expires_after(std::chrono::milliseconds(10));
    co_await pause.async_wait(use_tuple);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  co_return "it was not ready and was stopped";
}

}  // namespace

proxy::awaitable<UpgradeResult> start_successor(const std::vector<std::string>& command,
                                                const std::vector<std::pair<int, std::string>>& sockets,
                                                std::chrono::seconds timeout) {
  if (command.empty() || ::access(command[0].c_str(), X_OK) != 0)
    co_return UpgradeResult{0, "cannot execute \"" + (command.empty() ? "" : command[0]) + "\""};
  std::vector<std::string> env = successor_environment(sockets);
  std::vector<char*> argv, envp;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  char* pid_digits = env.back().data() + std::strlen("LISTEN_PID=");
  std::vector<int> fds;
  for (const auto& s : sockets) fds.push_back(s.first);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) co_return UpgradeResult{0, std::string("pipe: ") + std::strerror(errno)};
  const pid_t pid = ::fork();
  if (pid == 0) exec_successor(argv.data(), envp.data(), pid_digits, fds, pipe_fds[1]);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    co_return UpgradeResult{0, std::string("fork: ") + std::strerror(errno)};
  }

  auto executor = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor handover(executor, pipe_fds[0]);
  asio::steady_timer timer(executor);
  bool timed_out = false;
  timer.expires_after(timeout);
  timer.async_wait([&handover, &timed_out](error_code ec) {
    if (ec) return;
    timed_out = true;
    handover.cancel(ec);
  });
  std::array<char, 16> buf{};
  size_t got = 0;
  while (got < 6) {
    auto [ec, n] = co_await handover.async_read_some(asio::buffer(buf.data() + got, buf.size() - got), use_tuple);
    if (ec) break;
    got += n;
  }
  timer.cancel();
  if (std::string_view(buf.data(), got).starts_with("READY\n")) co_return UpgradeResult{pid, {}};
  // (Each co_await its own statement: GCC 12 mishandles temporaries around one in an expression.)
  std::string why = co_await reap(pid, timed_out ? std::chrono::milliseconds(0) : std::chrono::milliseconds(2000));
  if (timed_out) why = "not ready within " + std::to_string(timeout.count()) + " s; " + why;
  co_return UpgradeResult{0, command[0] + " (pid " + std::to_string(pid) + "): " + why};
}

bool tell_predecessor_ready() {
  const char* value = std::getenv(kReadyFdVariable);
  if (!value) return false;
  int fd = std::atoi(value);
  ::unsetenv(kReadyFdVariable);
  if (fd < 3) return false;
  const bool ok = ::write(fd, "READY\n", 6) == 6;
  ::close(fd);
  return ok;
}

std::string own_binary_path() {
  std::array<char, 4096> buf{};
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  std::string path(buf.data(), static_cast<size_t>(n));
  constexpr std::string_view deleted = " (deleted)";
  if (path.ends_with(deleted)) path.resize(path.size() - deleted.size());
  return path;
}

}  // namespace portier::app
