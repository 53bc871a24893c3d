// portier: the binary's entry point. Parses the command line, loads the static
// configuration (exit 2 on any problem), and hands over to the command.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>

#include "app/application.hpp"
#include "app/check_command.hpp"
#include "app/cli.hpp"
#include "app/live_upgrade.hpp"
#include "app/upgrade_command.hpp"
#include "app/version.hpp"
#include "config/infra_configure.hpp"
#include "config/static_loader.hpp"
#include "core/log.hpp"

extern char** environ;

namespace {

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

// Each proxied connection holds two descriptors: take every one the process may have (a
// shell's soft limit is often 1024; the systemd unit sets LimitNOFILE, which raises both).
void raise_descriptor_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  r.rlim_cur = r.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &r) != 0)
    portier::core::log_warn("could not raise the descriptor limit to ", r.rlim_max, ": ", std::strerror(errno));
}

int print_problems(const portier::core::Problems& problems) {
  for (const auto& p : problems) std::cerr << "portier: " << p.to_string() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace portier;
  std::string error;
  auto cl = app::parse_command_line(argc, argv, &error);
  if (!cl) {
    std::cerr << "portier: " << error << "\n" << app::usage_text();
    return 2;
  }
  switch (cl->command) {
    case app::CommandLine::Command::version:
      std::cout << "portier " << app::kVersion << "\n";
      return 0;
    case app::CommandLine::Command::help:
      std::cout << app::usage_text();
      return 0;
    case app::CommandLine::Command::configure: {
      std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      auto problems = config::configure_infra(cl->config_path, input);
      if (!problems.empty()) return print_problems(problems);
      std::cout << "portier: updated infra block of " << cl->config_path << "\n";
      return 0;
    }
    case app::CommandLine::Command::check:
      return app::run_check(*cl, environment());
    case app::CommandLine::Command::upgrade:
      return app::run_upgrade_command(*cl, environment());
    case app::CommandLine::Command::run:
      break;
  }
  auto env = environment();
  auto loaded = config::load_static_config_file(cl->config_path, cl->overrides, env);
  for (const auto& w : loaded.warnings) std::cerr << "portier: warning: " << w.to_string() << "\n";
  if (!loaded.ok()) return print_problems(loaded.problems);
  core::LogLevel level;
  if (core::parse_log_level(loaded.config.log.level, level)) core::set_log_level(level);
  core::set_log_json(loaded.config.log.format == "json");
  if (!loaded.config.log.file_path.empty()) {
    if (auto err = core::set_log_file(loaded.config.log.file_path); !err.empty()) {
      std::cerr << "portier: log.filePath: " << err << "\n";
      return 1;
    }
  }
  raise_descriptor_limit();
  std::vector<std::string> command{app::own_binary_path()};  // what a live upgrade starts again
  command.insert(command.end(), argv + 1, argv + argc);
  app::Application application(std::move(loaded.config), std::move(env), std::move(command));
  return application.run();
}
