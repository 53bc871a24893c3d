#include "discovery/file_provider.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.hpp"

using namespace portier;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "portier-fp-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Rename-over, as editors and config management do.
void write_atomic(const std::string& path, const std::string& text) {
  REQUIRE(core::write_file_atomic(path, text).empty());
}

// Truncate and rewrite the same inode.
void write_in_place(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string router(const std::string& name, const std::string& host) {
  return "http:\n  routers:\n    " + name + ":\n      rule: Host(`" + host +
         "`)\n      service: s\n";
}

// Collects fragments delivered by a FileProvider.
struct Recorder {
  boost::asio::io_context ioc;
  std::vector<config::Fragment> seen;

  discovery::FileProvider::OnChange callback() {
    return [this](config::Fragment f) { seen.push_back(std::move(f)); };
  }
  // Runs the io_context until `done()` or the deadline passed.
  template <class Pred>
  bool wait_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ioc.restart();
      ioc.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  bool wait_for(size_t count) {
    return wait_until([&] { return seen.size() >= count; });
  }
  const config::Fragment& last() const { return seen.back(); }
};

config::FileProvider dir_config(const TempDir& dir) {
  config::FileProvider cfg;
  cfg.directory = dir.path.string();
  cfg.watch = true;
  return cfg;
}

}  // namespace

TEST_CASE("file provider loads a directory and sees modifications") {
  TempDir dir;
  write_atomic(dir / "a.yml", router("one", "one.example.com") +
                                  "  services:\n    s:\n      loadBalancer:\n        servers:\n"
                                  "          - url: http://127.0.0.1:8080\n");
  write_atomic(dir / "b.yaml", router("two", "two.example.com"));
  write_atomic(dir / "notes.txt", "not yaml: [");
  Recorder rec;
  discovery::FileProvider provider(rec.ioc, dir_config(dir), rec.callback());
  provider.start();

  REQUIRE(rec.wait_for(1));
  CHECK(rec.last().errors.empty());
  CHECK(rec.last().dynamic.http.routers.size() == 2);
  CHECK(rec.last().dynamic.http.services.count("s") == 1);
  CHECK(rec.last().sources.at("http.routers.two") == dir / "b.yaml");

  SECTION("rename-over") {
    write_atomic(dir / "b.yaml", router("two", "two.example.com") +
                                     "    three:\n"
                                     "      rule: Host(`three.example.com`)\n      service: s\n");
    REQUIRE(rec.wait_for(2));
    CHECK(rec.last().dynamic.http.routers.count("three") == 1);
  }
  SECTION("in-place write") {
    write_in_place(dir / "a.yml", router("one", "changed.example.com"));
    REQUIRE(rec.wait_for(2));
    CHECK(rec.last().dynamic.http.routers.at("one").rule == "Host(`changed.example.com`)");
  }
  SECTION("a new file and a removed file") {
    write_atomic(dir / "c.yml", router("four", "four.example.com"));
    REQUIRE(rec.wait_for(2));
    CHECK(rec.last().dynamic.http.routers.count("four") == 1);
    fs::remove(dir / "c.yml");
    REQUIRE(rec.wait_for(3));
    CHECK(rec.last().dynamic.http.routers.count("four") == 0);
  }
  SECTION("a broken file is an error; the other files still load") {
    write_atomic(dir / "b.yaml", "http:\n  routers:\n    two: [oops\n");
    REQUIRE(rec.wait_for(2));
    REQUIRE(rec.last().errors.size() == 1);
    CHECK(rec.last().errors[0].source == dir / "b.yaml");
    CHECK(rec.last().errors[0].line > 0);
    CHECK(rec.last().dynamic.http.routers.count("one") == 1);
  }
  SECTION("no callback when nothing changed") {
    provider.reload();
    CHECK(rec.seen.size() == 1);
  }
  provider.stop();
}

TEST_CASE("two files defining the same router is an error naming both") {
  TempDir dir;
  write_atomic(dir / "a.yml", router("dup", "a.example.com"));
  write_atomic(dir / "b.yml", router("dup", "b.example.com"));
  write_atomic(dir / "old.toml", "[http]\n");
  const discovery::FileSnapshot snap = discovery::read_file_config(dir_config(dir));
  REQUIRE(snap.fragment.errors.size() == 2);
  const config::ConfigError* dup = nullptr;
  const config::ConfigError* toml = nullptr;
  for (const auto& e : snap.fragment.errors) (e.label.empty() ? toml : dup) = &e;
  REQUIRE(dup);
  CHECK(dup->label == "http.routers.dup");
  CHECK(dup->message.find(dir / "a.yml") != std::string::npos);
  CHECK(dup->message.find(dir / "b.yml") != std::string::npos);
  REQUIRE(toml);
  CHECK(toml->message == "TOML not supported, convert to YAML");
  CHECK(toml->source == dir / "old.toml");
  CHECK(snap.fragment.dynamic.http.routers.at("dup").rule == "Host(`a.example.com`)");
}

TEST_CASE("a missing file is an error, and its creation is seen") {
  TempDir dir;
  config::FileProvider cfg;
  cfg.filename = dir / "dynamic.yml";
  Recorder rec;
  discovery::FileProvider provider(rec.ioc, cfg, rec.callback());
  provider.start();
  REQUIRE(rec.wait_for(1));
  REQUIRE(rec.last().errors.size() == 1);
  CHECK(rec.last().errors[0].message.rfind("cannot read file", 0) == 0);
  write_atomic(cfg.filename, router("late", "late.example.com"));
  REQUIRE(rec.wait_for(2));
  CHECK(rec.last().errors.empty());
  CHECK(rec.last().dynamic.http.routers.count("late") == 1);
}

TEST_CASE("a Kubernetes-style symlink swap is seen") {
  TempDir dir;
  fs::create_directory(dir / "..v1");
  fs::create_directory(dir / "..v2");
  write_atomic(dir / "..v1/dynamic.yml", router("r", "v1.example.com"));
  write_atomic(dir / "..v2/dynamic.yml", router("r", "v2.example.com"));
  fs::create_directory_symlink("..v1", dir / "..data");
  fs::create_symlink("..data/dynamic.yml", dir / "dynamic.yml");
  config::FileProvider cfg;
  cfg.filename = dir / "dynamic.yml";
  Recorder rec;
  discovery::FileProvider provider(rec.ioc, cfg, rec.callback());
  provider.start();
  REQUIRE(rec.wait_for(1));
  CHECK(rec.last().dynamic.http.routers.at("r").rule == "Host(`v1.example.com`)");
  fs::create_directory_symlink("..v2", dir / "..data_tmp");
  fs::rename(dir / "..data_tmp", dir / "..data");
  REQUIRE(rec.wait_for(2));
  CHECK(rec.last().dynamic.http.routers.at("r").rule == "Host(`v2.example.com`)");
}

TEST_CASE("a directory that appears later is watched once it exists") {
  TempDir dir;
  config::FileProvider cfg;
  cfg.directory = dir / "later";
  Recorder rec;
  discovery::FileProvider provider(rec.ioc, cfg, rec.callback());
  provider.start();
  REQUIRE(rec.wait_for(1));
  REQUIRE(rec.last().errors.size() == 1);
  CHECK(rec.last().errors[0].message.rfind("cannot read directory", 0) == 0);
  fs::create_directory(cfg.directory);
  write_atomic(cfg.directory + "/x.yml", router("x", "x.example.com"));
  // The re-watch poll may catch the directory still empty first.
  REQUIRE(rec.wait_until([&] { return rec.last().dynamic.http.routers.count("x") == 1; }));
  CHECK(rec.last().errors.empty());
  CHECK(rec.last().dynamic.http.routers.count("x") == 1);
}

TEST_CASE("no callback after stop") {
  TempDir dir;
  write_atomic(dir / "a.yml", router("a", "a.example.com"));
  Recorder rec;
  {
    discovery::FileProvider provider(rec.ioc, dir_config(dir), rec.callback());
    provider.start();
    provider.stop();
  }  // destroyed with operations pending: they must complete harmlessly
  rec.ioc.restart();
  rec.ioc.run_for(std::chrono::milliseconds(50));
  CHECK(rec.seen.empty());
}
