#include "discovery/port_allocator.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "core/atomic_file.hpp"

using namespace portier::discovery;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/portier-ports-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

PortRequest req(std::string service, uint16_t port, std::string proto = "tcp") {
  return {"2816", std::move(service), std::move(proto), port, "127.0.11.2"};
}

}  // namespace

TEST_CASE("ports: allocation is stable across a reload", "[ports]") {
  TempDir dir;
  auto now = std::chrono::system_clock::now();
  auto clock = [&] { return now; };
  std::string file = dir.path + "/ports.json";
  uint16_t mysql = 0, pg = 0;
  {
    PortAllocator a(file, 10000, 10010, 60s, clock);
    REQUIRE(a.load().empty());
    auto r = a.sync({req("db", 3306), req("db", 5432)});
    REQUIRE(r.assigned.size() == 2);
    REQUIRE(r.failed.empty());
    mysql = *a.find(PortKey::of(req("db", 3306)));
    pg = *a.find(PortKey::of(req("db", 5432)));
    CHECK(mysql != pg);
    CHECK(mysql >= 10000);
    CHECK(mysql <= 10010);
  }
  PortAllocator b(file, 10000, 10010, 60s, clock);
  REQUIRE(b.load().empty());
  // Requested in the other order, with a newcomer first: the old numbers stay.
  auto r = b.sync({req("aaa", 80), req("db", 5432), req("db", 3306)});
  CHECK(*b.find(PortKey::of(req("db", 3306))) == mysql);
  CHECK(*b.find(PortKey::of(req("db", 5432))) == pg);
  auto fresh = *b.find(PortKey::of(req("aaa", 80)));
  CHECK(fresh != mysql);
  CHECK(fresh != pg);
}

TEST_CASE("ports: a full range fails only the newcomer", "[ports]") {
  TempDir dir;
  PortAllocator a(dir.path + "/ports.json", 10000, 10001, 60s);
  auto r = a.sync({req("a", 1), req("b", 2), req("c", 3)});
  CHECK(r.assigned.size() == 2);
  REQUIRE(r.failed.size() == 1);
  CHECK(r.failed[0].first.service == "c");
  CHECK(r.failed[0].second.find("10000-10001 is full") != std::string::npos);
  // UDP has its own pool over the same numbers.
  auto u = a.sync({req("a", 1), req("b", 2), req("d", 53, "udp")});
  CHECK(u.failed.empty());
  CHECK(*a.find(PortKey::of(req("d", 53, "udp"))) == 10000);
}

TEST_CASE("ports: released only after the grace period", "[ports]") {
  TempDir dir;
  auto now = std::chrono::system_clock::now();
  PortAllocator a(dir.path + "/ports.json", 10000, 10000, 60s, [&] { return now; });
  a.sync({req("a", 1)});
  now += 1h;  // a long quiet time while present must not count
  a.sync({});  // gone from now
  now += 59s;
  auto r = a.sync({req("b", 2)});
  CHECK(r.failed.size() == 1);  // a still holds the only port
  CHECK(a.find(PortKey::of(req("a", 1))));
  now += 2s;
  r = a.sync({req("b", 2)});
  CHECK(r.failed.empty());
  CHECK_FALSE(a.find(PortKey::of(req("a", 1))));
  CHECK(*a.find(PortKey::of(req("b", 2))) == 10000);
}

TEST_CASE("ports: the gone time survives a restart", "[ports]") {
  TempDir dir;
  std::string file = dir.path + "/ports.json";
  auto now = std::chrono::system_clock::now();
  {
    PortAllocator a(file, 10000, 10000, 60s, [&] { return now; });
    a.sync({req("a", 1)});
    a.sync({});
  }
  now += 61s;
  PortAllocator b(file, 10000, 10000, 60s, [&] { return now; });
  REQUIRE(b.load().empty());
  CHECK(b.sync({req("b", 2)}).failed.empty());
}

TEST_CASE("ports: a corrupt file is an error, not a crash", "[ports]") {
  TempDir dir;
  std::string file = dir.path + "/ports.json";
  REQUIRE(portier::core::write_file_atomic(file, "{not json").empty());
  PortAllocator a(file, 10000, 10001, 60s);
  CHECK_FALSE(a.load().empty());
  CHECK(a.sync({req("a", 1)}).assigned.size() == 1);
}

TEST_CASE("ports: a missing state directory is created on the first save", "[ports]") {
  TempDir dir;
  std::string file = dir.path + "/state/sub/ports.json";
  {
    PortAllocator a(file, 10000, 10010, 60s);
    REQUIRE(a.load().empty());
    REQUIRE(a.sync({req("db", 3306)}).assigned.size() == 1);
    CHECK(a.save_error().empty());
  }
  CHECK(std::filesystem::exists(file));
  PortAllocator b(file, 10000, 10010, 60s);
  REQUIRE(b.load().empty());
  CHECK(b.find(PortKey::of(req("db", 3306))) == std::optional<uint16_t>(10000));
}

TEST_CASE("ports: a failed save is reported and retried at the next sync, the file is 0600", "[ports]") {
  TempDir dir;
  // A regular file where the state directory should be: every save fails (even for root).
  std::string blocker = dir.path + "/state";
  REQUIRE(portier::core::write_file_atomic(blocker, "x").empty());
  std::string file = blocker + "/ports.json";
  PortAllocator a(file, 10000, 10010, 60s);
  REQUIRE(a.load().empty());
  REQUIRE(a.sync({req("db", 3306)}).assigned.size() == 1);
  CHECK_FALSE(a.save_error().empty());
  std::filesystem::remove(blocker);
  REQUIRE(a.sync({req("db", 3306)}).assigned.size() == 1);  // nothing changed: the retry saves
  CHECK(a.save_error().empty());
  REQUIRE(std::filesystem::exists(file));
  CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}
