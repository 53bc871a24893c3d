// Against a real pebble + pebble-challtestsrv + the Cloudflare stand-in. Hidden: run by
// tests/e2e/test_acme_pebble_unit.py, which starts the peers and sets
//   PORTIER_TEST_PEBBLE       pebble's directory URL
//   PORTIER_TEST_PEBBLE_CA    PEM of the CA of pebble's listener certificate
//   PORTIER_TEST_PEBBLE_ROOT  PEM of the root signing pebble-issued certificates
//   PORTIER_TEST_CF_URL       the stand-in's base URL (…/client/v4), zone example.com
//   PORTIER_TEST_CF_TOKEN     its token
//   PORTIER_TEST_DNS          challtestsrv's DNS address (ip:port)
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "acme/acme_manager.hpp"
#include "acme/propagation_check.hpp"
#include "core/atomic_file.hpp"
#include "tls/acme_json.hpp"

using namespace portier;
namespace asio = boost::asio;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string temp_dir() {
  char dir[] = "/tmp/portier-acme-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

config::StaticConfig pebble_config(const std::string& dir, const std::string& token) {
  config::StaticConfig cfg;
  cfg.state_directory = dir;
  cfg.infra.cf_dns_api_token = token;
  config::CertResolver le;
  le.name = "le";
  le.email = "admin@portier.example.com";
  le.storage = dir + "/acme.json";
  le.ca_server = env("PORTIER_TEST_PEBBLE");
  config::DnsChallenge dns;
  dns.provider = "cloudflare";
  dns.resolvers = {env("PORTIER_TEST_DNS")};
  dns.disable_ans_checks = true;
  dns.propagation_timeout = std::chrono::seconds(20);
  le.dns_challenge = dns;
  cfg.cert_resolvers["le"] = le;
  return cfg;
}

std::map<std::string, std::string> pebble_env() {
  return {{"CF_API_BASE_URL", env("PORTIER_TEST_CF_URL")}, {"LEGO_CA_CERTIFICATES", env("PORTIER_TEST_PEBBLE_CA")}};
}

// Runs `ioc` until `done()` or the deadline (the ACME work itself is event driven).
bool run_until(asio::io_context& ioc, const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(50));
  }
  return done();
}

bool verifies_against(const tls::CertEntry& e, const std::string& root_pem) {
  std::string error;
  auto roots = tls::load_certificates_pem(root_pem, error);
  REQUIRE(!roots.empty());
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, roots.front().get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, e.leaf.get(), e.chain.get());
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

std::vector<acme::CertDemand> demands() {
  acme::CertDemand wildcard;
  wildcard.resolver = "le";
  wildcard.names = {"example.com", "*.example.com"};
  wildcard.router = "apex@file";
  acme::CertDemand deep;
  deep.resolver = "le";
  deep.names = {"app.test.example.com"};
  deep.router = "deep@file";
  return {wildcard, deep};
}

}  // namespace

TEST_CASE("AcmeManager obtains, stores, reloads and renews certificates from pebble", "[.][pebble]") {
  REQUIRE_FALSE(env("PORTIER_TEST_PEBBLE").empty());
  std::string dir = temp_dir();
  auto cfg = pebble_config(dir, env("PORTIER_TEST_CF_TOKEN"));
  acme::AcmeManagerOptions opts;
  opts.propagation_poll = std::chrono::milliseconds(100);
  std::string root = *core::read_file(env("PORTIER_TEST_PEBBLE_ROOT"));

  asio::io_context ioc;
  tls::CertStore store;
  acme::AcmeManager manager(ioc, cfg, store, pebble_env(), opts);
  std::vector<std::vector<std::string>> obtained;
  manager.set_on_certificate([&](const std::vector<std::string>& names) { obtained.push_back(names); });
  CHECK(manager.load_storage().empty());
  CHECK_FALSE(store.covers("www.example.com"));
  manager.start();
  manager.update_demands(demands());
  REQUIRE(run_until(ioc, [&] { return obtained.size() >= 2; }, std::chrono::seconds(90)));

  CHECK(store.covers("www.example.com"));
  CHECK(store.covers("example.com"));
  CHECK(store.covers("app.test.example.com"));
  CHECK_FALSE(store.covers("other.test.example.com"));
  auto match = store.find("www.example.com");
  REQUIRE(match.entry->source == "acme");
  CHECK(match.entry->resolver == "le");
  CHECK(EVP_PKEY_base_id(match.entry->key.get()) == EVP_PKEY_EC);
  CHECK_THAT(match.entry->issuer, Catch::Contains("Pebble"));
  CHECK(verifies_against(*match.entry, root));

  struct stat st {};
  REQUIRE(stat(cfg.cert_resolvers["le"].storage.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto file = tls::read_acme_json_file(cfg.cert_resolvers["le"].storage);
  REQUIRE(file.ok);
  REQUIRE(file.store["le"].account);
  CHECK_FALSE(file.store["le"].account->registration_uri.empty());
  CHECK(file.store["le"].account->email == "admin@portier.example.com");
  CHECK(file.store["le"].certificates.size() == 2);

  auto health = manager.health_json();
  CHECK(health["status"] == "ok");
  CHECK(health["resolvers"][0]["account"] == "registered");
  CHECK(health["resolvers"][0]["certificates"] == 2);
  auto certs = manager.certificates_json();
  int acme_certs = 0;
  for (const auto& c : certs) {
    CHECK(c["status"] == "valid");
    if (c["source"] == "acme") ++acme_certs;
  }
  CHECK(acme_certs == 2);

  // Names already covered are not requested again.
  manager.update_demands(demands());
  run_until(ioc, [] { return false; }, std::chrono::seconds(1));
  CHECK(obtained.size() == 2);

  SECTION("a restart serves the stored certificates before any network activity") {
    asio::io_context ioc2;
    tls::CertStore store2;
    acme::AcmeManager again(ioc2, cfg, store2, pebble_env(), opts);
    CHECK(again.load_storage().empty());
    CHECK(store2.covers("www.example.com"));
    CHECK(store2.find("app.test.example.com").entry->id == store.find("app.test.example.com").entry->id);
  }

  SECTION("certificates inside the renewal window are renewed at start") {
    asio::io_context ioc3;
    tls::CertStore store3;
    auto renew_opts = opts;
    renew_opts.renew_before = std::chrono::hours(24 * 365 * 50);  // everything is "about to expire"
    acme::AcmeManager renewer(ioc3, cfg, store3, pebble_env(), renew_opts);
    std::vector<std::vector<std::string>> renewed;
    renewer.set_on_certificate([&](const std::vector<std::string>& names) { renewed.push_back(names); });
    CHECK(renewer.load_storage().empty());
    std::string old_id = store3.find("app.test.example.com").entry->id;
    renewer.start();
    REQUIRE(run_until(ioc3, [&] { return renewed.size() >= 2; }, std::chrono::seconds(90)));
    CHECK(store3.find("app.test.example.com").entry->id != old_id);
    auto after = tls::read_acme_json_file(cfg.cert_resolvers["le"].storage);
    CHECK(after.store["le"].certificates.size() == 2);  // replaced, not appended
    renewer.stop();
  }
  manager.stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("A rejected Cloudflare token fails clearly, backs off, and shows in /health", "[.][pebble]") {
  REQUIRE_FALSE(env("PORTIER_TEST_PEBBLE").empty());
  std::string dir = temp_dir();
  auto cfg = pebble_config(dir, "wrong-token");
  asio::io_context ioc;
  tls::CertStore store;
  acme::AcmeManager manager(ioc, cfg, store, pebble_env());
  CHECK(manager.load_storage().empty());
  manager.start();
  acme::CertDemand d;
  d.resolver = "le";
  d.names = {"bad.example.com"};
  manager.update_demands({d});
  auto failed = [&] {
    for (const auto& c : manager.certificates_json())
      if (c.value("status", "") == "failed") return true;
    return false;
  };
  REQUIRE(run_until(ioc, failed, std::chrono::seconds(60)));
  nlohmann::json entry;
  for (const auto& c : manager.certificates_json())
    if (c.value("status", "") == "failed") entry = c;
  CHECK_THAT(entry["last_error"].get<std::string>(), Catch::Contains("token rejected"));
  CHECK(entry["retry_in_seconds"].get<long>() > 30);  // backoff, not a hot loop
  CHECK(manager.health_json()["status"] == "degraded");
  CHECK(manager.degraded());
  CHECK_FALSE(store.covers("bad.example.com"));
  manager.stop();
  std::filesystem::remove_all(dir);
}

TEST_CASE("Propagation check sees challtestsrv's TXT records and times out on missing ones", "[.][pebble]") {
  REQUIRE_FALSE(env("PORTIER_TEST_DNS").empty());
  asio::io_context ioc;
  config::DnsChallenge s;
  s.resolvers = {env("PORTIER_TEST_DNS")};
  s.disable_ans_checks = true;
  s.propagation_timeout = std::chrono::milliseconds(600);
  acme::PropagationTarget t;
  t.fqdn = "_acme-challenge.absent.example.com";
  t.value = "nope";
  t.zone = "example.com";
  auto fut = asio::co_spawn(ioc, acme::wait_for_propagation(ioc.get_executor(), s, t, std::chrono::milliseconds(100)),
                            asio::use_future);
  ioc.run();
  std::string why = fut.get();
  CHECK_THAT(why, Catch::Contains("not seen within"));
  CHECK_THAT(why, Catch::Contains("does not serve"));

  // Preset by the runner: _acme-challenge.preset.example.com = "preset-value".
  t.fqdn = "_acme-challenge.preset.example.com";
  t.value = "preset-value";
  ioc.restart();
  auto ok = asio::co_spawn(ioc, acme::wait_for_propagation(ioc.get_executor(), s, t, std::chrono::milliseconds(100)),
                           asio::use_future);
  ioc.run();
  CHECK(ok.get() == "");
}
