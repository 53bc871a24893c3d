#pragma once
// The file provider (SPEC 3): Traefik dynamic YAML from one file or a directory of files,
// reloaded on change.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"

namespace portier::discovery {

// Everything the configured files hold, read once.
struct FileSnapshot {
  config::Fragment fragment;  // combined over all files, errors included
  std::string content_key;    // equal keys <=> same files with the same bytes (and same errors)
};

// Reads cfg.filename, or every *.yml / *.yaml directly in cfg.directory (sorted by name;
// dot-files skipped; not recursive). A *.toml file is an error "TOML not supported, convert to
// YAML". A name defined in two files is an error naming both; the first file (in name order)
// wins. A missing file or unreadable directory is an error in the fragment, never an
// exception. Blocking file reads: control thread only.
FileSnapshot read_file_config(const config::FileProvider& cfg);

// Watches the configured files and delivers fragments. Single-threaded: construct, call
// start()/stop() and destroy on the thread that runs `control`; on_change runs there too.
// With cfg.watch, the parent directory of the file (or the directory itself) is watched with
// inotify, so in-place writes, editors' rename-over and Kubernetes-style symlink swaps are all
// seen; events are coalesced for ~100 ms, then the files are re-read and on_change is called
// only if the content key changed. If the directory disappears, the watch is re-established
// by polling once a second.
class FileProvider {
 public:
  using OnChange = std::function<void(config::Fragment)>;

  FileProvider(boost::asio::io_context& control, config::FileProvider cfg, OnChange on_change);
  ~FileProvider();
  FileProvider(const FileProvider&) = delete;
  FileProvider& operator=(const FileProvider&) = delete;

  // Posts the first load (on_change is always called once with it) and starts watching.
  void start();
  // Stops watching; on_change is not called after stop() returns. Idempotent.
  void stop();
  // No coroutine left after stop() (core/task_group.hpp: keep running `control` until then).
  bool idle() const;
  // Re-reads now (SIGHUP); calls on_change if the content changed.
  void reload();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace portier::discovery
