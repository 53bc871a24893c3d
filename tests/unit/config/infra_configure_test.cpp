#include "config/infra_configure.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/static_loader.hpp"

using namespace portier::config;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/portier-configure-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string all(const portier::core::Problems& ps) {
  std::string s;
  for (const auto& p : ps) s += p.to_string() + "\n";
  return s;
}

const char* kJson = R"({"public_ipv4": "203.0.113.50", "public_ipv6": "2001:db8::1",
  "base_domain": "example.com", "cert_email": "admin@example.com",
  "cf_dns_api_token": "tok-123", "tcp_ports": [25, 143], "udp_ports": [53],
  "machine_name": "server-1"})";

}  // namespace

TEST_CASE("configure creates a missing file, mode 0600, that loads") {
  const std::string path = temp_dir() + "/portier.yml";
  auto problems = configure_infra(path, kJson);
  INFO(all(problems));
  REQUIRE(problems.empty());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string text = slurp(path);
  CHECK(text.find("# machine: server-1") != std::string::npos);
  auto r = load_static_config_file(path, {}, {});
  INFO(all(r.problems));
  REQUIRE(r.ok());
  const auto& infra = r.config.infra;
  CHECK(infra.public_ipv4 == "203.0.113.50");
  CHECK(infra.public_ipv6 == "2001:db8::1");
  CHECK(infra.base_domain == "example.com");
  CHECK(infra.cf_dns_api_token == "tok-123");
  CHECK(infra.tcp_ports == std::vector<uint16_t>{25, 143});
  CHECK(r.config.entry_points.count("tcp-143"));
  CHECK(r.config.cert_resolvers.count("letsencrypt"));
}

TEST_CASE("configure replaces only the infra block and keeps the rest of the file") {
  const std::string path = temp_dir() + "/portier.yml";
  const std::string before =
      "# portier configuration\n"
      "log:\n"
      "  level: info   # keep me\n"
      "\n"
      "infra:\n"
      "  # old comment\n"
      "  public_ipv4: 198.51.100.1\n"
      "  http_port: 8080\n"
      "  https_port: 8443\n"
      "  dynamic_tcp_ports: 10000-10002\n"
      "  cf_dns_api_token_file: /etc/portier/token\n"
      "  udp_ports: [5353]\n"
      "\n"
      "# the docker provider\n"
      "providers:\n"
      "  docker: {}\n";
  std::ofstream(path) << before;
  auto problems = configure_infra(path, kJson);
  INFO(all(problems));
  REQUIRE(problems.empty());
  const std::string after = slurp(path);
  INFO(after);
  CHECK(after.rfind("# portier configuration\nlog:\n  level: info   # keep me\n\ninfra:\n", 0) ==
        0);
  CHECK(after.find("\n# the docker provider\nproviders:\n  docker: {}\n") != std::string::npos);
  CHECK(after.find("old comment") == std::string::npos);
  CHECK(after.find("cf_dns_api_token_file") == std::string::npos);  // replaced by the token
  auto r = load_static_config_file(path, {}, {});
  INFO(all(r.problems));
  REQUIRE(r.ok());
  CHECK(r.config.infra.public_ipv4 == "203.0.113.50");
  CHECK(r.config.infra.http_port == 8080);
  CHECK(r.config.infra.https_port == 8443);
  CHECK(r.config.infra.dynamic_tcp_first == 10000);
  CHECK(r.config.infra.udp_ports == std::vector<uint16_t>{53});
  REQUIRE(r.config.docker);

  // Settings absent from the JSON are removed; the block is rewritten in place again.
  REQUIRE(configure_infra(path, R"({"public_ipv4": "203.0.113.9"})").empty());
  auto r2 = load_static_config_file(path, {}, {});
  INFO(all(r2.problems));
  REQUIRE(r2.ok());
  CHECK(r2.config.infra.public_ipv4 == "203.0.113.9");
  CHECK(r2.config.infra.public_ipv6.empty());
  CHECK(r2.config.infra.cf_dns_api_token.empty());
  CHECK(r2.config.infra.http_port == 8080);
  CHECK(r2.config.log.level == "info");
}

TEST_CASE("configure appends the block when the file has none; flow style is re-emitted") {
  auto r = rewrite_infra_block("log: {level: debug}\n", R"({"public_ipv4": "203.0.113.50"})");
  INFO(all(r.problems));
  REQUIRE(r.problems.empty());
  CHECK(r.text.rfind("log: {level: debug}\ninfra:\n", 0) == 0);
  auto flow = rewrite_infra_block("{log: {level: debug}, infra: {http_port: 8080}}",
                                  R"({"public_ipv4": "203.0.113.50"})");
  REQUIRE(flow.problems.empty());
  auto loaded = load_static_config_text(flow.text, "x", {}, {});
  INFO(flow.text);
  REQUIRE(loaded.ok());
  CHECK(loaded.config.infra.http_port == 8080);
  CHECK(loaded.config.log.level == "debug");
}

TEST_CASE("configure rejects bad input and leaves the file untouched") {
  const std::string path = temp_dir() + "/portier.yml";
  const std::string before = "infra:\n  public_ipv4: 198.51.100.1\n";
  std::ofstream(path) << before;
  ::chmod(path.c_str(), 0640);

  auto unknown = configure_infra(path, R"({"public_ipv4": "203.0.113.50", "colour": "blue"})");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].path == "colour");
  CHECK(unknown[0].message == "unknown key");

  auto bad = configure_infra(
      path, R"({"public_ipv4": "999.1.1.1", "tcp_ports": [25, 70000, "x"], "cert_email": 5})");
  INFO(all(bad));
  CHECK(bad.size() == 4);
  auto has_path = [&](const std::string& p) {
    for (const auto& x : bad)
      if (x.path == p) return true;
    return false;
  };
  CHECK(has_path("public_ipv4"));
  CHECK(has_path("tcp_ports[1]"));
  CHECK(has_path("tcp_ports[2]"));
  CHECK(has_path("cert_email"));

  CHECK_FALSE(configure_infra(path, "not json").empty());
  CHECK_FALSE(configure_infra(path, "[1, 2]").empty());
  // Valid JSON but a result that would not load: ports without a public address.
  auto noaddr = configure_infra(path, R"({"tcp_ports": [25]})");
  REQUIRE(noaddr.size() == 1);
  CHECK(noaddr[0].path == "infra.tcp_ports");

  CHECK(slurp(path) == before);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);

  const std::string broken = temp_dir() + "/broken.yml";
  std::ofstream(broken) << "infra: [\n";
  CHECK_FALSE(configure_infra(broken, kJson).empty());
  CHECK(slurp(broken) == "infra: [\n");
}
