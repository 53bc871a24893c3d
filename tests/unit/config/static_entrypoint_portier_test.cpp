// entryPoints.NAME.portier: portier's own entrypoint keys (headerTimeout, maxConnections).
#include <catch2/catch.hpp>

#include "config/static_loader.hpp"

using namespace portier::config;
using std::chrono::milliseconds;

namespace {

StaticLoadResult load(const std::string& yaml) {
  return load_static_config_text(yaml, "test.yml", {}, {});
}

bool has(const StaticLoadResult& r, const std::string& path, const std::string& text) {
  for (const auto& p : r.problems)
    if (p.path == path && p.message.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("entrypoint portier keys: defaults and values") {
  auto r = load(
      "entryPoints:\n"
      "  web: {address: \":80\"}\n"
      "  websecure:\n"
      "    address: \":443\"\n"
      "    portier: {headerTimeout: 3s, maxConnections: 500}\n");
  REQUIRE(r.ok());
  const auto& web = r.config.entry_points.at("web");
  CHECK(web.header_timeout == milliseconds(10000));
  CHECK(web.max_connections == 0);
  const auto& ws = r.config.entry_points.at("websecure");
  CHECK(ws.header_timeout == milliseconds(3000));
  CHECK(ws.max_connections == 500);
}

TEST_CASE("entrypoint portier keys: bad values and places are errors with their path") {
  auto r = load(
      "entryPoints:\n"
      "  web:\n"
      "    address: \":80\"\n"
      "    portier: {headerTimeout: 0s, maxConnections: -1, maxConn: 3}\n"
      "  dns:\n"
      "    address: \":53/udp\"\n"
      "    portier: {maxConnections: 5}\n"
      "  tcp-3306:\n"
      "    address: \":3306\"\n"
      "    portier: {headerTimeout: 5s}\n");
  CHECK(has(r, "entryPoints.web.portier.headerTimeout", "greater than 0"));
  CHECK(has(r, "entryPoints.web.portier.maxConnections", ""));
  CHECK(has(r, "entryPoints.web.portier.maxConn", "unknown key"));
  CHECK(has(r, "entryPoints.dns.portier", "not supported on a tcp-* or UDP entrypoint"));
  CHECK(has(r, "entryPoints.tcp-3306.portier", "not supported on a tcp-* or UDP entrypoint"));
}
