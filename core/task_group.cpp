#include "core/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <list>

#include "core/log.hpp"

namespace portier::core {

namespace asio = boost::asio;

// A task's cancellation signal must stay where it is while the task runs (its slot is
// connected to the coroutine), and a little longer: the completion handler runs inside the
// coroutine's last frame, which still refers to the signal's handler memory. So a finished
// task's entry is erased by a posted handler, after that frame is gone.
struct TaskGroup::State {
  struct Task {
    asio::cancellation_signal signal;
    bool done = false;
  };
  std::list<Task> tasks;
  std::size_t live = 0;
  bool cancelled = false;
};

TaskGroup::TaskGroup(asio::any_io_executor executor, std::string owner)
    : executor_(std::move(executor)), owner_(std::move(owner)), state_(std::make_shared<State>()) {}

TaskGroup::~TaskGroup() { cancel(); }

void TaskGroup::spawn(asio::awaitable<void> task, std::string what) {
  if (state_->cancelled) return;
  auto it = state_->tasks.emplace(state_->tasks.end());
  ++state_->live;
  auto on_done = [state = state_, it, ex = executor_, owner = owner_, what = std::move(what)](std::exception_ptr e) {
    it->done = true;
    --state->live;
    asio::post(ex, [state, it] { state->tasks.erase(it); });
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& ex) {
      if (!(state->cancelled && ex.code() == asio::error::operation_aborted))
        log_error(owner, ": ", what, " failed: ", ex.what());
    } catch (const std::exception& ex) {
      log_error(owner, ": ", what, " failed: ", ex.what());
    }
  };
  asio::co_spawn(executor_, std::move(task), asio::bind_cancellation_slot(it->signal.slot(), std::move(on_done)));
}

void TaskGroup::cancel() {
  if (state_->cancelled) return;
  state_->cancelled = true;
  // emit() may complete an operation inline; tasks never add or erase entries synchronously
  // from that path (erasure is posted, spawning is refused), so the iteration stays valid.
  for (auto& t : state_->tasks)
    if (!t.done) t.signal.emit(asio::cancellation_type::terminal);
}

bool TaskGroup::cancelled() const { return state_->cancelled; }

std::size_t TaskGroup::size() const { return state_->live; }

}  // namespace portier::core
