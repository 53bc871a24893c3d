#pragma once
// Helpers for the HTTP/2 session tests: a tiny threaded HTTP/1.1 origin on loopback, a
// blocking nghttp2 client, and a proxy Worker serving one cleartext listener.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/dynamic.hpp"
#include "config/static_config.hpp"
#include "core/snapshot.hpp"
#include "proxy/http1_parser.hpp"
#include "proxy/http2_chunked_decoder.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/tcp_runtime.hpp"
#include "proxy/observability.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline int listen_loopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 128);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Deterministic body bytes of /big/<n> and /close/<n>.
inline std::string pattern(size_t n, size_t offset = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i + offset) % 26);
  return s;
}

// An HTTP/1.1 origin, one thread per connection. Paths:
//   /echo          200, body = request body, x-framing: length|chunked|none
//   /info          200, body = "method path\n" + "name: value\n" per header
//   /big/<n>       200, chunked, n bytes of pattern()
//   /close/<n>     200, no length, n bytes of pattern(), then close
//   /head          200 with Content-Length: 100 (no body for HEAD)
//   /status/<c>    <c>, empty
//   /slow/<ms>     200 after <ms>
class Origin {
 public:
  Origin() {
    listen_fd_ = listen_loopback(&port_);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~Origin() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    {
      std::lock_guard l(mutex_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) break;
      ++accepted_;
      std::lock_guard l(mutex_);
      conns_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  bool fill(int fd, std::string& in) {
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
  }

  void serve(int fd) {
    std::string in;
    for (;;) {
      RequestHead head;
      HttpLimits limits;
      ParseOutcome r;
      while ((r = parse_request_head(in, limits, head)).status == ParseStatus::need_more)
        if (!fill(fd, in)) return close_conn(fd);
      if (r.status == ParseStatus::error) return close_conn(fd);
      std::string method(head.method), path(head.path), framing = "none";
      std::string info = method + " " + std::string(head.target) + "\n";
      for (const auto& h : head.headers)
        info += std::string(h.name) + ": " + std::string(h.value) + "\n";
      BodyKind kind = head.body;
      uint64_t length = head.content_length;
      in.erase(0, head.head_size);
      std::string body;
      if (kind == BodyKind::length) {
        framing = "length";
        while (in.size() < length)
          if (!fill(fd, in)) return close_conn(fd);
        body = in.substr(0, length);
        in.erase(0, length);
      } else if (kind == BodyKind::chunked) {
        framing = "chunked";
        ChunkedDecoder decoder;
        IoBuffer out;
        for (;;) {
          size_t used = 0;
          auto res = decoder.feed(in, &used, out);
          in.erase(0, used);
          if (res == ChunkedDecoder::Result::error) return close_conn(fd);
          if (res == ChunkedDecoder::Result::done) break;
          if (!fill(fd, in)) return close_conn(fd);
        }
        body = std::string(out.readable());
      }
      if (!respond(fd, method, path, framing, info, body)) return close_conn(fd);
    }
  }

  bool respond(int fd, const std::string& method, const std::string& path,
               const std::string& framing, const std::string& info, const std::string& body) {
    auto fixed = [&](int status, const std::string& b, const std::string& extra = {}) {
      std::string out = "HTTP/1.1 " + std::to_string(status) +
                        " X\r\nContent-Length: " + std::to_string(b.size()) +
                        "\r\nX-Framing: " + framing +
                        "\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" + extra + "\r\n";
      if (method != "HEAD" && status != 204 && status != 304) out += b;
      return send_all(fd, out);
    };
    if (path == "/echo") return fixed(200, body);
    if (path == "/info") return fixed(200, info);
    if (path == "/head") return fixed(200, std::string(100, 'h'));
    if (path.rfind("/status/", 0) == 0) {
      int status = std::stoi(path.substr(8));
      std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n" +
                        (status == 204 || status == 304 ? "" : "Content-Length: 0\r\n") + "\r\n";
      return send_all(fd, out);
    }
    if (path.rfind("/slow/", 0) == 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::stoi(path.substr(6))));  // the origin is slow
      return fixed(200, "slow");
    }
    if (path.rfind("/big/", 0) == 0) {
      size_t n = std::stoul(path.substr(5));
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return false;
      for (size_t off = 0; off < n; off += 16000) {
        size_t k = std::min<size_t>(16000, n - off);
        char line[32];
        std::snprintf(line, sizeof line, "%zx;x=y\r\n", k);
        if (!send_all(fd, line + pattern(k, off) + "\r\n")) return false;
      }
      return send_all(fd, "0\r\nTrailer-A: 1\r\n\r\n");
    }
    if (path.rfind("/close/", 0) == 0) {
      size_t n = std::stoul(path.substr(7));
      send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + pattern(n));
      return false;
    }
    return fixed(404, "no such path");
  }

  void close_conn(int fd) {
    std::lock_guard l(mutex_);
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    conns_.erase(std::remove(conns_.begin(), conns_.end(), fd), conns_.end());
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<int> conns_;
  std::vector<std::thread> threads_;
};

// A blocking HTTP/2 client (nghttp2 client session) over one loopback connection.
class H2Client {
 public:
  struct Response {
    int status = 0;
    std::multimap<std::string, std::string> headers;
    std::vector<int> interim;  // 1xx statuses
    std::string body;
    bool closed = false;
    uint32_t error = 0;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    }
  };

  explicit H2Client(uint16_t port, std::vector<nghttp2_settings_entry> settings = {}) {
    fd_ = connect_loopback(port);
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Client::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Client::on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Client::on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Client::on_frame);
    nghttp2_option* opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
    nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~H2Client() {
    nghttp2_session_del(session_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

  // Submits a request; `body` (may be null) is sent as DATA, the end with END_STREAM.
  int32_t request(const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> headers = {},
                  const std::string* body = nullptr, const std::string& authority = "h2.test",
                  bool hold_open = false) {
    std::vector<std::pair<std::string, std::string>> all = {
        {":method", method}, {":scheme", "http"}, {":authority", authority}, {":path", path}};
    for (auto& h : headers) all.push_back(h);
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : all)
      nva.push_back(
          {(uint8_t*)n.data(), (uint8_t*)v.data(), n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    nghttp2_data_provider provider{};
    auto source = std::make_unique<Source>();
    source->hold = hold_open;
    if (body || hold_open) {
      if (body) source->data = *body;
      provider.source.ptr = source.get();
      provider.read_callback = &H2Client::read_body;
    }
    int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                        (body || hold_open) ? &provider : nullptr, nullptr);
    if (id > 0) sources_[id] = std::move(source);
    return id;
  }

  // Pumps I/O until done() or the deadline; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      if (!pump(20)) return done();
    }
    return true;
  }
  bool wait_response(int32_t id, std::chrono::milliseconds timeout = 20s) {
    return run_until([&] { return responses[id].closed; }, timeout);
  }
  // Writes everything nghttp2 has queued.
  bool flush() {
    for (;;) {
      const uint8_t* data;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return false;
      if (n == 0) return true;
      if (!send_all(fd_,
                    std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n))))
        return false;
    }
  }
  // One round: flush, then read what arrived within `ms`. False once the peer closed.
  bool pump(int ms) {
    if (eof) return false;
    flush();
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return true;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof = true;
      return false;
    }
    ssize_t rv =
        nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(n));
    if (rv < 0) {
      eof = true;
      return false;
    }
    return true;
  }

  nghttp2_session* session() { return session_; }
  int fd() const { return fd_; }

  std::map<int32_t, Response> responses;
  bool goaway = false;
  uint32_t goaway_code = 0;
  int32_t goaway_last_stream = -1;
  bool eof = false;
  int rst_received = 0;

 private:
  struct Source {
    std::string data;
    size_t offset = 0;
    bool hold = false;  // never ends: the request stays open
  };

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* s = static_cast<Source*>(source->ptr);
    if (s->hold) return NGHTTP2_ERR_DEFERRED;
    size_t n = std::min(length, s->data.size() - s->offset);
    std::memcpy(buf, s->data.data() + s->offset, n);
    s->offset += n;
    if (s->offset == s->data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<H2Client*>(user);
    std::string n(reinterpret_cast<const char*>(name), namelen),
        v(reinterpret_cast<const char*>(value), valuelen);
    auto& r = self->responses[frame->hd.stream_id];
    if (n == ":status") {
      int status = std::stoi(v);
      if (status < 200)
        r.interim.push_back(status);
      else
        r.status = status;
    } else {
      r.headers.emplace(n, v);
    }
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                     void* user) {
    static_cast<H2Client*>(user)->responses[id].body.append(reinterpret_cast<const char*>(data),
                                                            len);
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    auto& r = static_cast<H2Client*>(user)->responses[id];
    r.closed = true;
    r.error = code;
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<H2Client*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self->goaway = true;
      self->goaway_code = frame->goaway.error_code;
      self->goaway_last_stream = frame->goaway.last_stream_id;
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM) ++self->rst_received;
    return 0;
  }

  int fd_ = -1;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Source>> sources_;
};

// A proxy worker with one cleartext entrypoint "web" routing Host(`h2.test`) to the origin
// and Host(`down.test`) to a closed port.
class Proxy {
 public:
  explicit Proxy(uint16_t origin_port, ProxyLimits limits = {},
                 std::chrono::milliseconds idle = 180s) {
    config::EntryPoint ep;
    ep.name = "web";
    ep.protocol = config::EntryPoint::Protocol::tcp;
    ep.idle_timeout = idle;
    cfg_.entry_points["web"] = ep;
    uint16_t dead_port;
    int dead = listen_loopback(&dead_port);
    ::close(dead);
    config::Dynamic dyn;
    add_route(dyn, "h2", "Host(`h2.test`)", "http://127.0.0.1:" + std::to_string(origin_port));
    add_route(dyn, "down", "Host(`down.test`)", "http://127.0.0.1:" + std::to_string(dead_port));
    std::vector<std::string> problems;
    snapshot_.publish(compile_runtime(dyn, cfg_, health_, &problems));
    observability_ = std::make_unique<Observability>(cfg_, http_entry_point_names(cfg_), 1);
    worker_ = std::make_unique<Worker>(0, snapshot_, tls_, tcp_, limits, observability_->worker(0));
    tcp::acceptor acceptor(worker_->io(),
                           tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    port_ = acceptor.local_endpoint().port();
    auto info = std::make_shared<ListenerInfo>();
    info->entry_index = 0;
    info->entry_point = ep;
    worker_->add_listener(std::move(acceptor), info);
    worker_->start();
  }
  ~Proxy() { worker_->stop(); }
  uint16_t port() const { return port_; }
  Worker& worker() { return *worker_; }

 private:
  static void add_route(config::Dynamic& dyn, const std::string& name, const std::string& rule,
                        const std::string& url) {
    config::HttpRouter r;
    r.rule = rule;
    r.service = name;
    dyn.http.routers[name] = r;
    config::HttpService s;
    config::LoadBalancer lb;
    config::HttpServer server;
    server.url = url;
    lb.servers.push_back(server);
    s.load_balancer = lb;
    dyn.http.services[name] = s;
  }

  config::StaticConfig cfg_;
  HealthRegistry health_;
  core::Snapshot<RuntimeConfig> snapshot_;
  core::Snapshot<TlsContext> tls_;  // empty: no TLS side
  core::Snapshot<TcpRuntime> tcp_;  // empty: no TCP routers
  std::unique_ptr<Observability> observability_;  // outlives the worker
  std::unique_ptr<Worker> worker_;
  uint16_t port_ = 0;
};

}  // namespace portier::proxy::test
