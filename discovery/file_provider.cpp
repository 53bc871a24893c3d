#include "discovery/file_provider.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "config/dynamic_yaml.hpp"
#include "core/atomic_file.hpp"
#include "core/log.hpp"
#include "core/task_group.hpp"

namespace portier::discovery {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr auto kDebounce = std::chrono::milliseconds(100);
constexpr auto kRewatchInterval = std::chrono::seconds(1);

config::ConfigError file_error(const std::string& source, std::string message) {
  return {"file", source, "", std::move(message), 0};
}

// Moves the items of one section from `from` into `into`, refusing names already defined.
template <class T>
void absorb(const std::string& section, std::map<std::string, T>& from,
            std::map<std::string, T>& into, const std::string& file, config::Fragment& out) {
  for (auto& [name, item] : from) {
    const std::string key = section + "." + name;
    auto [it, inserted] = out.sources.try_emplace(key, file);
    if (!inserted || into.count(name)) {
      out.errors.push_back(file_error(
          file, "defined in both " + it->second + " and " + file + "; keeping " + it->second));
      out.errors.back().label = key;
      continue;
    }
    into[name] = std::move(item);
  }
}

void absorb_fragment(config::Fragment& part, const std::string& file, config::Fragment& out) {
  out.errors.insert(out.errors.end(), part.errors.begin(), part.errors.end());
  config::Dynamic& from = part.dynamic;
  config::Dynamic& into = out.dynamic;
  absorb("http.routers", from.http.routers, into.http.routers, file, out);
  absorb("http.services", from.http.services, into.http.services, file, out);
  absorb("http.middlewares", from.http.middlewares, into.http.middlewares, file, out);
  absorb("http.serversTransports", from.http.servers_transports, into.http.servers_transports, file,
         out);
  absorb("tcp.routers", from.tcp.routers, into.tcp.routers, file, out);
  absorb("tcp.services", from.tcp.services, into.tcp.services, file, out);
  absorb("tcp.serversTransports", from.tcp.servers_transports, into.tcp.servers_transports, file, out);
  absorb("udp.routers", from.udp.routers, into.udp.routers, file, out);
  absorb("udp.services", from.udp.services, into.udp.services, file, out);
  absorb("tls.options", from.tls.options, into.tls.options, file, out);
  absorb("tls.stores", from.tls.stores, into.tls.stores, file, out);
  into.tls.certificates.insert(into.tls.certificates.end(), from.tls.certificates.begin(),
                               from.tls.certificates.end());
}

// Lists the files to load from a directory, sorted; problems go to `errors`.
std::vector<std::string> list_directory(const std::string& dir,
                                        std::vector<config::ConfigError>& errors) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    errors.push_back(file_error(dir, "cannot read directory: " + ec.message()));
    return files;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code sec;
    if (!fs::is_regular_file(p, sec)) continue;  // follows symlinks
    const std::string ext = p.extension().string();
    if (ext == ".yml" || ext == ".yaml")
      files.push_back(p.string());
    else if (ext == ".toml")
      errors.push_back(file_error(p.string(), "TOML not supported, convert to YAML"));
  }
  if (ec) errors.push_back(file_error(dir, "cannot read directory: " + ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

std::string watch_directory(const config::FileProvider& cfg) {
  if (!cfg.directory.empty()) return cfg.directory;
  const fs::path parent = fs::path(cfg.filename).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

namespace {

// The configured files' bytes, read before any parsing so an unchanged set is not parsed again.
struct FileTexts {
  struct File {
    std::string path;
    std::optional<std::string> text;  // nullopt: unreadable, `error` says why
    config::ConfigError error;
  };
  std::vector<File> files;
  std::vector<config::ConfigError> errors;  // listing problems
  std::string content_key;
};

FileTexts read_texts(const config::FileProvider& cfg) {
  FileTexts out;
  std::vector<std::string> files;
  if (!cfg.filename.empty()) {
    if (fs::path(cfg.filename).extension() == ".toml")
      out.errors.push_back(file_error(cfg.filename, "TOML not supported, convert to YAML"));
    else
      files.push_back(cfg.filename);
  } else if (!cfg.directory.empty()) {
    files = list_directory(cfg.directory, out.errors);
  } else {
    out.errors.push_back(file_error("", "file provider needs filename or directory"));
  }
  for (const auto& file : files) {
    std::string error;
    FileTexts::File& f = out.files.emplace_back();
    f.path = file;
    f.text = core::read_file(file, &error);
    out.content_key += file;
    out.content_key += '\0';
    if (!f.text) {
      f.error = file_error(file, "cannot read file: " + error);
      out.content_key += "!" + error + '\0';
      continue;
    }
    out.content_key += *f.text;
    out.content_key += '\0';
  }
  for (const auto& e : out.errors) out.content_key += "!" + e.source + e.message + '\0';
  return out;
}

config::Fragment parse_texts(const FileTexts& texts) {
  config::Fragment out;
  out.errors = texts.errors;
  for (const auto& [file, text, error] : texts.files) {
    if (!text) {
      out.errors.push_back(error);
      continue;
    }
    config::Fragment part = config::parse_dynamic_yaml(*text, file);
    if (out.dynamic == config::Dynamic{} && out.sources.empty()) {
      // The first file: nothing to collide with, take it whole (no per-item copies).
      part.errors.insert(part.errors.begin(), out.errors.begin(), out.errors.end());
      out = std::move(part);
      continue;
    }
    absorb_fragment(part, file, out);
  }
  return out;
}

}  // namespace

FileSnapshot read_file_config(const config::FileProvider& cfg) {
  FileTexts texts = read_texts(cfg);
  FileSnapshot snap;
  snap.fragment = parse_texts(texts);
  snap.content_key = std::move(texts.content_key);
  return snap;
}

// Shared with the pending asynchronous operations, so they may finish after FileProvider dies.
struct FileProvider::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& control, config::FileProvider c, OnChange cb)
      : ioc(control),
        cfg(std::move(c)),
        on_change(std::move(cb)),
        inotify(control),
        debounce(control),
        rewatch(control),
        tasks(control.get_executor(), "file provider") {}

  asio::io_context& ioc;
  config::FileProvider cfg;
  OnChange on_change;
  asio::posix::stream_descriptor inotify;
  asio::steady_timer debounce;
  asio::steady_timer rewatch;
  std::optional<std::string> last_key;
  int wd = -1;
  bool reload_pending = false;
  bool stopped = false;
  core::TaskGroup tasks;  // the watch loop

  void reload() {
    if (stopped) return;
    FileTexts texts = read_texts(cfg);
    if (last_key && *last_key == texts.content_key) return;  // unchanged: not even parsed
    config::Fragment fragment = parse_texts(texts);
    last_key = std::move(texts.content_key);
    core::log_info("file provider: loaded ", fragment.dynamic.http.routers.size(),
                   " http routers, ", fragment.errors.size(), " errors");
    on_change(std::move(fragment));
  }

  void schedule_reload() {
    if (reload_pending || stopped) return;
    reload_pending = true;
    debounce.expires_after(kDebounce);
    debounce.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->reload_pending = false;
      if (!ec) self->reload();
    });
  }

  bool try_watch() {
    const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                          IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    wd = inotify_add_watch(inotify.native_handle(), watch_directory(cfg).c_str(), mask);
    return wd >= 0;
  }

  // Adds the directory watch, or polls until the directory exists.
  void add_watch() {
    if (try_watch()) return;
    core::log_warn("file provider: cannot watch ", watch_directory(cfg), ": ", std::strerror(errno),
                   "; retrying every second");
    schedule_rewatch();
  }

  void schedule_rewatch() {
    rewatch.expires_after(kRewatchInterval);
    rewatch.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped || self->wd >= 0) return;
      if (!self->try_watch()) return self->schedule_rewatch();
      self->reload();
    });
  }

  // Returns true when the watch was lost (directory removed or moved, queue overflow).
  bool scan(const char* data, size_t size) {
    bool lost = false;
    for (size_t off = 0; off + sizeof(inotify_event) <= size;) {
      inotify_event ev;
      std::memcpy(&ev, data + off, sizeof ev);
      if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) lost = true;
      off += sizeof(inotify_event) + ev.len;
    }
    return lost;
  }

  static asio::awaitable<void> watch_loop(std::shared_ptr<Impl> self) {
    alignas(inotify_event) std::array<char, 16 * 1024> buf;
    for (;;) {
      auto [ec, n] = co_await self->inotify.async_read_some(asio::buffer(buf),
                                                            asio::as_tuple(asio::use_awaitable));
      if (ec || self->stopped) co_return;
      if (self->scan(buf.data(), n) && self->wd >= 0) {
        inotify_rm_watch(self->inotify.native_handle(), self->wd);
        self->wd = -1;
        self->schedule_rewatch();
      }
      self->schedule_reload();
    }
  }

  void start() {
    asio::post(ioc, [self = shared_from_this()] { self->reload(); });
    if (!cfg.watch) return;
    const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      core::log_error("file provider: inotify_init1: ", std::strerror(errno));
      return;
    }
    inotify.assign(fd);
    add_watch();
    tasks.spawn(watch_loop(shared_from_this()), "watch");
  }

  void stop() {
    stopped = true;
    tasks.cancel();
    debounce.cancel();
    rewatch.cancel();
    boost::system::error_code ignored;
    if (inotify.is_open()) inotify.close(ignored);
  }
};

FileProvider::FileProvider(asio::io_context& control, config::FileProvider cfg, OnChange on_change)
    : impl_(std::make_shared<Impl>(control, std::move(cfg), std::move(on_change))) {}

FileProvider::~FileProvider() { stop(); }

void FileProvider::start() { impl_->start(); }
void FileProvider::stop() { impl_->stop(); }
void FileProvider::reload() { impl_->reload(); }
bool FileProvider::idle() const { return impl_->tasks.empty(); }

}  // namespace portier::discovery
