#include "proxy/worker.hpp"

#include "core/log.hpp"
#include "proxy/http2_session.hpp"

namespace portier::proxy {

Worker::Worker(int id, core::Snapshot<RuntimeConfig>& snapshot, ProxyLimits limits)
    : id_(id), reader_(snapshot), limits_(limits) {}

Worker::~Worker() { stop(); }

void Worker::add_listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerInfo> info) {
  acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(acceptor)));
  infos_.push_back(std::move(info));
}

void Worker::start() {
  guard_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(ioc_.get_executor());
  for (size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(ioc_, accept_loop(*acceptors_[i], infos_[i]), asio::detached);
  thread_ = std::thread([this] { ioc_.run(); });
}

awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, std::shared_ptr<const ListenerInfo> info) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      core::log_warn("accept on ", info->entry_point.name, ": ", ec.message());
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    ++active_;
    asio::co_spawn(
        ioc_,
        [this, s = std::move(socket), info]() mutable -> awaitable<void> {
          co_await serve_cleartext(*this, std::move(s), info);  // HTTP/1.1, or h2c prior knowledge
          --active_;
        },
        [](std::exception_ptr e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            core::log_error("session failed: ", ex.what());
          }
        });
  }
}

uint32_t Worker::next_rr(uint32_t service_index, uint64_t generation) {
  if (generation != rr_generation_) {
    rr_.clear();
    rr_generation_ = generation;
  }
  if (service_index >= rr_.size()) rr_.resize(service_index + 1, static_cast<uint32_t>(id_));
  return rr_[service_index]++;
}

void Worker::begin_drain() {
  asio::post(ioc_, [this] {
    draining_ = true;
    for (auto& a : acceptors_) {
      error_code ec;
      a->close(ec);
    }
    for (auto* s : sessions_) s->cancel_if_idle();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  guard_.reset();
  ioc_.stop();
  thread_.join();
}

}  // namespace portier::proxy
