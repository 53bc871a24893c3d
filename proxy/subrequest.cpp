#include "proxy/subrequest.hpp"

#include <memory>

#include "proxy/response_collector.hpp"
#include "proxy/runtime_config.hpp"
#include "proxy/upstream_conn.hpp"
#include "proxy/watchdog.hpp"
#include "proxy/worker.hpp"

namespace portier::proxy {
namespace {

enum class Outcome { done, retry, failed };

// Reads the final response head into `resp` (1xx dropped). *received: some byte came.
awaitable<error_code> read_head(UpstreamConn& up, const HttpLimits& limits, bool head_request,
                                ResponseHead& resp, bool* received) {
  *received = !up.buf.empty();
  for (;;) {
    if (!up.buf.empty()) {
      ParseOutcome r = parse_response_head(up.buf.readable(), limits, head_request, resp);
      if (r.status == ParseStatus::error) co_return asio::error::invalid_argument;
      if (r.status == ParseStatus::complete) {
        if (resp.status >= 200) co_return error_code{};
        up.buf.consume(resp.head_size);
        continue;
      }
    }
    auto [ec, n] = co_await up.read_some(up.buf.prepare(16384));
    if (ec) co_return ec;
    *received = true;
    up.buf.commit(n);
  }
}

// The body after the head (consumed) into out.body. False when it is cut short.
awaitable<bool> read_body(UpstreamConn& up, const ResponseHead& resp, int64_t max_body,
                          SubrequestResult& out) {
  ResponseCollector collector(resp.body, resp.content_length, max_body > 0 ? max_body : 0, INT64_MAX);
  if (max_body == kDiscardBody) collector.discard();
  for (;;) {
    size_t used = 0;
    auto step = collector.feed(up.buf.readable(), &used);
    up.buf.consume(used);
    if (step == ResponseCollector::Step::more) {
      auto [ec, n] = co_await up.read_some(up.buf.prepare(16384, 65536));
      if (ec == asio::error::eof) step = collector.at_eof();
      if (ec && step == ResponseCollector::Step::more) co_return false;
      if (!ec) up.buf.commit(n);
      if (step == ResponseCollector::Step::more) continue;
    }
    if (step == ResponseCollector::Step::error) co_return false;
    auto& body = collector.body();
    out.too_large = step == ResponseCollector::Step::too_large || (max_body == 0 && body.size() > 0);
    if (!out.too_large) {
      out.body.resize(body.size());
      body.read(0, out.body.data(), out.body.size());
    }
    co_return true;
  }
}

awaitable<Outcome> exchange(Worker& worker, UpstreamConn& up, const std::string& head,
                            std::string_view body, bool head_request, int64_t max_body,
                            SubrequestResult& out, bool* reusable) {
  auto [write_ec, n] = co_await up.write(asio::buffer(head));
  error_code ec = write_ec;
  if (!ec && !body.empty()) {
    auto [body_ec, written] = co_await up.write(asio::buffer(body.data(), body.size()));
    ec = body_ec;
  }
  ResponseHead resp;
  bool received = false;
  if (!ec) {
    error_code read_ec = co_await read_head(up, worker.limits().http, head_request, resp, &received);
    ec = read_ec;
  }
  if (ec) {
    out.error = ec.message();
    co_return up.reused && !received ? Outcome::retry : Outcome::failed;
  }
  out.status = resp.status;
  for (const auto& h : resp.headers) out.headers.emplace_back(h.name, h.value);
  up.buf.consume(resp.head_size);
  if (!co_await read_body(up, resp, max_body, out)) {
    out.status = 0;
    out.error = "the response body was cut short";
    co_return Outcome::failed;
  }
  *reusable = resp.keep_alive && !out.too_large && up.buf.empty();
  co_return Outcome::done;
}

}  // namespace

awaitable<SubrequestResult> send_subrequest(Worker& worker, const UpstreamServer& server,
                                            const std::string& head, bool head_request,
                                            int64_t max_body, std::chrono::milliseconds timeout,
                                            std::string_view body) {
  SubrequestResult out;
  Watchdog watchdog(worker.io().get_executor());
  watchdog.arm(timeout);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto up = attempt == 0 ? worker.pool().take(server.pool_key, true) : nullptr;
    if (!up) {
      up = std::make_unique<UpstreamConn>(worker.io().get_executor(), server);
      up->key = server.pool_key;
      watchdog.watch(&up->socket());
      std::string why = co_await up->connect(server, server.endpoint);
      if (!why.empty()) {
        out.error = watchdog.expired() ? "timeout" : why;
        co_return out;
      }
    }
    watchdog.watch(&up->socket());
    out = {};
    bool reusable = false;
    Outcome outcome = co_await exchange(worker, *up, head, body, head_request, max_body, out, &reusable);
    watchdog.watch(nullptr);
    if (watchdog.expired()) {
      out = {};
      out.error = "timeout";
      co_return out;
    }
    if (outcome == Outcome::retry) continue;
    if (outcome == Outcome::done && reusable) worker.pool().put(std::move(up));
    co_return out;
  }
  co_return out;
}

}  // namespace portier::proxy
