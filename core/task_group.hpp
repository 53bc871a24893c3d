#pragma once
// TaskGroup: the coroutines one component runs on one io_context, so that the component can
// stop them and know when they are gone.
//
// The lifetime rule it serves (control thread, Application): a component's coroutines refer
// to the component (`this`, its members, objects bound to its io_context); they must finish
// *before* the component and the io_context are destroyed. Letting ~io_context destroy
// suspended frames is not a safe way to end them: Boost 1.81's shutdown destroys frames from
// inside its own operation queues, while their locals (timers, sockets, shared state) unwind
// into the same io_context, which corrupted the heap at exit (issue 21). So a component
// calls cancel() in its stop(), the owner keeps running the io_context until empty(), and
// only then destroys the component and the io_context.
//
// cancel() emits terminal cancellation to every live task: the operation a task is awaiting
// completes with operation_aborted, and its next co_await throws it (Asio's
// throw_if_cancelled default). A cancelled group spawns nothing more. A task that ends with
// an exception is logged (owner and task name), except operation_aborted after cancel().
//
// Thread: one; every call and every task runs on the executor given. Not copyable.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace portier::core {

class TaskGroup {
 public:
  TaskGroup(boost::asio::any_io_executor executor, std::string owner);
  ~TaskGroup();  // cancels what is left (see the lifetime rule above)
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` now (it runs until its first suspension before spawn returns only if the
  // executor dispatches inline; do not rely on it). Ignored once cancelled.
  void spawn(boost::asio::awaitable<void> task, std::string what);
  void cancel();
  bool cancelled() const;
  std::size_t size() const;  // tasks started and not yet finished
  bool empty() const { return size() == 0; }
  const std::string& owner() const { return owner_; }

 private:
  struct State;
  boost::asio::any_io_executor executor_;
  std::string owner_;
  std::shared_ptr<State> state_;  // shared with the completion handlers of the tasks
};

}  // namespace portier::core
