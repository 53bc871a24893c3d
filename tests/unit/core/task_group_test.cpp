#include "core/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>

namespace asio = boost::asio;
using asio::awaitable;
using portier::core::TaskGroup;

namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);

// Counts the frames that have unwound (normally or by exception), whatever the path.
struct Unwound {
  int& count;
  ~Unwound() { ++count; }
};

awaitable<void> sleep_long(int& unwound, bool& woke_aborted) {
  Unwound guard{unwound};
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  auto [ec] = co_await t.async_wait(tok);
  woke_aborted = ec == asio::error::operation_aborted;
  // Asio's throw_if_cancelled: the next co_await of a cancelled task throws.
  co_await t.async_wait(tok);
  FAIL("a cancelled task went on awaiting");
}

awaitable<void> read_forever(asio::local::stream_protocol::socket& s, int& unwound) {
  Unwound guard{unwound};
  char byte;
  co_await s.async_read_some(asio::buffer(&byte, 1), tok);
}

awaitable<void> throw_now() {
  co_await asio::post(asio::use_awaitable);
  throw std::runtime_error("boom");
}

}  // namespace

TEST_CASE("task group: cancel() unwinds every task and the io_context runs out of work", "[task_group]") {
  asio::io_context ioc{1};
  TaskGroup group(ioc.get_executor(), "test");
  int unwound = 0;
  bool aborted[3] = {false, false, false};
  asio::local::stream_protocol::socket a(ioc), b(ioc);
  asio::local::connect_pair(a, b);
  for (bool& flag : aborted) group.spawn(sleep_long(unwound, flag), "sleeper");
  group.spawn(read_forever(a, unwound), "reader");
  ioc.run_for(std::chrono::milliseconds(20));
  CHECK(group.size() == 4);
  CHECK(unwound == 0);

  group.cancel();
  CHECK(group.cancelled());
  ioc.restart();
  ioc.run_for(std::chrono::seconds(5));
  CHECK(ioc.stopped());  // nothing left: no frame for ~io_context to destroy
  CHECK(group.empty());
  CHECK(unwound == 4);
  for (bool flag : aborted) CHECK(flag);
}

TEST_CASE("task group: a cancelled group starts nothing", "[task_group]") {
  asio::io_context ioc{1};
  TaskGroup group(ioc.get_executor(), "test");
  group.cancel();
  int unwound = 0;
  bool aborted = false;
  group.spawn(sleep_long(unwound, aborted), "late");
  CHECK(group.empty());
  ioc.run_for(std::chrono::seconds(1));
  CHECK(ioc.stopped());
  CHECK(unwound == 0);  // its body never ran (the frame was destroyed unstarted)
  CHECK_FALSE(aborted);
}

TEST_CASE("task group: a task that throws is counted out and does not stop the others", "[task_group]") {
  asio::io_context ioc{1};
  TaskGroup group(ioc.get_executor(), "test");
  int unwound = 0;
  bool aborted = false;
  group.spawn(throw_now(), "thrower");
  group.spawn(sleep_long(unwound, aborted), "sleeper");
  ioc.run_for(std::chrono::milliseconds(50));
  CHECK(group.size() == 1);
  group.cancel();
  ioc.restart();
  ioc.run_for(std::chrono::seconds(5));
  CHECK(group.empty());
  CHECK(unwound == 1);
  CHECK(ioc.stopped());
}
