#include "app/cli.hpp"

#include <cstdlib>
#include <map>

namespace portier::app {
namespace {

bool parse_ports(const std::string& text, std::vector<uint16_t>& out) {
  out.clear();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) {
      char* end = nullptr;
      long v = std::strtol(item.c_str(), &end, 10);
      if (*end != '\0' || v < 1 || v > 65535) return false;
      out.push_back(static_cast<uint16_t>(v));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

}  // namespace

const char* usage_text() {
  return "usage: portier [run] [--config FILE] [flags]\n"
         "       portier check --config FILE [--docker] [--compose docker-compose.yml ...] [--format text|json]\n"
         "       portier configure --config FILE   (renet proxy configure JSON on stdin)\n"
         "       portier upgrade --config FILE     (live upgrade of the running portier, see README)\n"
         "       portier version\n"
         "flags: --public-ipv4 IP --public-ipv6 IP --base-domain D --cert-email E --cf-dns-token T\n"
         "       --tcp-ports 25,143 --udp-ports 53 --diag-address HOST:PORT\n"
         "       --docker-endpoint unix:///path-*.sock (repeatable) --state-dir DIR --log-level LEVEL\n";
}

std::optional<CommandLine> parse_command_line(int argc, char** argv, std::string* error) {
  CommandLine cl;
  int i = 1;
  if (i < argc && argv[i][0] != '-') {
    std::string cmd = argv[i++];
    static const std::map<std::string, CommandLine::Command> kCommands = {
        {"run", CommandLine::Command::run},         {"check", CommandLine::Command::check},
        {"configure", CommandLine::Command::configure}, {"version", CommandLine::Command::version},
        {"upgrade", CommandLine::Command::upgrade}, {"help", CommandLine::Command::help}};
    auto it = kCommands.find(cmd);
    if (it == kCommands.end()) {
      *error = "unknown command \"" + cmd + "\"";
      return std::nullopt;
    }
    cl.command = it->second;
  }
  auto& o = cl.overrides;
  std::map<std::string, std::optional<std::string>*> strings = {
      {"--public-ipv4", &o.public_ipv4}, {"--public-ipv6", &o.public_ipv6},
      {"--base-domain", &o.base_domain}, {"--cert-email", &o.cert_email},
      {"--cf-dns-token", &o.cf_dns_token}, {"--diag-address", &o.diag_address},
      {"--state-dir", &o.state_dir},     {"--log-level", &o.log_level}};
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg == "--version" || arg == "-v") {
      cl.command = CommandLine::Command::version;
      continue;
    } else if (arg == "--help" || arg == "-h") {
      cl.command = CommandLine::Command::help;
      continue;
    } else if (arg == "--docker") {
      cl.docker = true;
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      *error = arg + " needs a value";
      return std::nullopt;
    }
    if (arg == "--config" || arg == "-c") {
      cl.config_path = value;
    } else if (auto it = strings.find(arg); it != strings.end()) {
      *it->second = value;
    } else if (arg == "--tcp-ports" || arg == "--udp-ports") {
      std::vector<uint16_t> ports;
      if (!parse_ports(value, ports)) {
        *error = arg + ": invalid port list \"" + value + "\"";
        return std::nullopt;
      }
      (arg == "--tcp-ports" ? o.tcp_ports : o.udp_ports) = ports;
    } else if (arg == "--docker-endpoint") {
      o.docker_endpoints.push_back(value);
    } else if (arg == "--compose") {
      cl.compose_files.push_back(value);
    } else if (arg == "--format") {
      if (value != "text" && value != "json") {
        *error = "--format must be text or json";
        return std::nullopt;
      }
      cl.format = value;
    } else {
      *error = "unknown flag " + arg;
      return std::nullopt;
    }
  }
  return cl;
}

}  // namespace portier::app
