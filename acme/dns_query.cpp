#include "acme/dns_query.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>

namespace portier::acme {
namespace {

namespace asio = boost::asio;

struct AresInit {
  AresInit() { ares_library_init(ARES_LIB_INIT_ALL); }
};

// One c-ares channel with its watched sockets. Shared by the pending Asio handlers, so it
// outlives every callback; `closed` makes late handlers no-ops.
struct Channel : std::enable_shared_from_this<Channel> {
  struct Watch {
    std::unique_ptr<asio::posix::stream_descriptor> fd;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;
  };
  explicit Channel(asio::any_io_executor ex) : executor(ex), timer(ex), done_timer(ex) {}

  asio::any_io_executor executor;
  ares_channel channel = nullptr;
  std::map<ares_socket_t, Watch> watches;
  asio::steady_timer timer;       // c-ares' own retransmit/timeout deadline
  asio::steady_timer done_timer;  // cancelled when the answer callback ran
  bool closed = false;
  bool done = false;
  DnsType type = DnsType::txt;
  DnsAnswer answer;

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Channel*>(data);
    if (self->closed) return;
    if (!readable && !writable) {
      auto it = self->watches.find(fd);
      if (it != self->watches.end()) {
        it->second.fd->release();  // c-ares closes the socket itself
        self->watches.erase(it);
      }
      return;
    }
    auto& w = self->watches[fd];
    if (!w.fd) w.fd = std::make_unique<asio::posix::stream_descriptor>(self->executor, fd);
    w.want_read = readable;
    w.want_write = writable;
    self->arm(fd);
  }

  void arm(ares_socket_t fd) {
    auto it = watches.find(fd);
    if (it == watches.end()) return;
    auto& w = it->second;
    auto self = shared_from_this();
    if (w.want_read && !w.reading) {
      w.reading = true;
      w.fd->async_wait(asio::posix::stream_descriptor::wait_read, [self, fd](boost::system::error_code ec) {
        if (self->closed) return;
        if (auto it = self->watches.find(fd); it != self->watches.end()) it->second.reading = false;
        if (!ec) ares_process_fd(self->channel, fd, ARES_SOCKET_BAD);
        self->after_io(fd);
      });
    }
    if (w.want_write && !w.writing) {
      w.writing = true;
      w.fd->async_wait(asio::posix::stream_descriptor::wait_write, [self, fd](boost::system::error_code ec) {
        if (self->closed) return;
        if (auto it = self->watches.find(fd); it != self->watches.end()) it->second.writing = false;
        if (!ec) ares_process_fd(self->channel, ARES_SOCKET_BAD, fd);
        self->after_io(fd);
      });
    }
  }

  void after_io(ares_socket_t fd) {
    if (closed) return;
    arm(fd);
    arm_timer();
  }

  void arm_timer() {
    timeval tv{};
    timeval* t = ares_timeout(channel, nullptr, &tv);
    if (!t) return;
    timer.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
    auto self = shared_from_this();
    timer.async_wait([self](boost::system::error_code ec) {
      if (ec || self->closed) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->arm_timer();
    });
  }

  static void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    auto* self = static_cast<Channel*>(arg);
    self->done = true;
    self->done_timer.cancel();
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) return;
    if (status != ARES_SUCCESS) {
      self->answer.error = ares_strerror(status);
      return;
    }
    self->parse(abuf, alen);
  }

  void parse(unsigned char* abuf, int alen) {
    int rc = ARES_SUCCESS;
    if (type == DnsType::txt) {
      ares_txt_ext* txt = nullptr;
      rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
      for (auto* t = txt; rc == ARES_SUCCESS && t; t = t->next) {
        std::string chunk(reinterpret_cast<char*>(t->txt), t->length);
        if (t->record_start || answer.records.empty()) answer.records.push_back(chunk);
        else answer.records.back() += chunk;
      }
      if (txt) ares_free_data(txt);
    } else if (type == DnsType::ns) {
      hostent* host = nullptr;
      rc = ares_parse_ns_reply(abuf, alen, &host);
      if (rc == ARES_SUCCESS && host) {
        for (char** a = host->h_aliases; a && *a; ++a) answer.records.emplace_back(*a);
        ares_free_hostent(host);
      }
    } else {
      hostent* host = nullptr;
      rc = ares_parse_a_reply(abuf, alen, &host, nullptr, nullptr);
      if (rc == ARES_SUCCESS && host) {
        char text[INET_ADDRSTRLEN];
        for (char** a = host->h_addr_list; a && *a; ++a)
          if (inet_ntop(AF_INET, *a, text, sizeof text)) answer.records.emplace_back(text);
        ares_free_hostent(host);
      }
    }
    if (rc != ARES_SUCCESS && rc != ARES_ENODATA) answer.error = std::string("bad answer: ") + ares_strerror(rc);
  }

  void close() {
    closed = true;
    timer.cancel();
    for (auto& [fd, w] : watches) {
      w.fd->cancel();
      w.fd->release();
    }
    watches.clear();
    if (channel) ares_destroy(channel);
    channel = nullptr;
  }
};

std::string servers_csv(const std::vector<std::string>& servers) {
  std::string csv;
  for (const auto& s : servers) {
    if (!csv.empty()) csv += ",";
    csv += s;
  }
  return csv;
}

}  // namespace

asio::awaitable<DnsAnswer> dns_query(asio::any_io_executor executor, DnsQuery query) {
  static AresInit init;
  auto ch = std::make_shared<Channel>(executor);
  ch->type = query.type;
  ares_options opts{};
  opts.sock_state_cb = &Channel::on_sock_state;
  opts.sock_state_cb_data = ch.get();
  opts.timeout = static_cast<int>(query.timeout.count());
  opts.tries = 2;
  opts.flags = query.recursion ? 0 : ARES_FLAG_NORECURSE;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  int rc = ares_init_options(&ch->channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    DnsAnswer failed;
    failed.error = std::string("c-ares init: ") + ares_strerror(rc);
    co_return failed;
  }
  if (!query.servers.empty()) {
    std::string csv = servers_csv(query.servers);
    rc = ares_set_servers_ports_csv(ch->channel, csv.c_str());
    if (rc != ARES_SUCCESS) {
      ch->close();
      DnsAnswer failed;
      failed.error = "bad DNS server list \"" + csv + "\": " + ares_strerror(rc);
      co_return failed;
    }
  }
  int type = query.type == DnsType::txt ? ns_t_txt : query.type == DnsType::ns ? ns_t_ns : ns_t_a;
  ch->done_timer.expires_at(asio::steady_timer::time_point::max());
  ares_query(ch->channel, query.name.c_str(), ns_c_in, type, &Channel::on_answer, ch.get());
  ch->arm_timer();
  while (!ch->done) co_await ch->done_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  DnsAnswer answer = std::move(ch->answer);
  ch->close();
  if (!answer.ok()) answer.error = query.name + ": " + answer.error;
  co_return answer;
}

}  // namespace portier::acme
