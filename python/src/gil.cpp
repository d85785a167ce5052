#include "gil.hpp"

#include <pybind11/pybind11.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace eventhooks::python {
namespace {

namespace py = pybind11;

struct ExitState {
  std::mutex mutex;
  std::condition_variable changed;
  bool exiting = false;
  std::thread::id exiting_thread;
  int returning = 0;  // threads past the check below, asking for the GIL
};

ExitState& exit_state() {
  static auto* state = new ExitState;  // NOLINT(cppcoreguidelines-owning-memory): used by threads at exit
  return *state;
}

[[noreturn]] void wait_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(24));
}

void on_exit() {
  ExitState& s = exit_state();
  {
    std::lock_guard lock(s.mutex);
    s.exiting = true;
    s.exiting_thread = std::this_thread::get_id();
  }
  // Threads already on their way back need the GIL to get there: give it up until they have it.
  py::gil_scoped_release release;
  std::unique_lock lock(s.mutex);
  s.changed.wait(lock, [&] { return s.returning == 0; });
}

}  // namespace

GilRelease::GilRelease() : state_(PyEval_SaveThread()) {}

GilRelease::~GilRelease() {
  ExitState& s = exit_state();
  std::unique_lock lock(s.mutex);
  if (s.exiting && std::this_thread::get_id() != s.exiting_thread) {
    lock.unlock();
    wait_forever();
  }
  ++s.returning;
  lock.unlock();
  PyEval_RestoreThread(state_);
  lock.lock();
  --s.returning;
  s.changed.notify_all();
}

void install_exit_guard() {
  py::module_::import("atexit").attr("register")(py::cpp_function(&on_exit));
}

}  // namespace eventhooks::python
