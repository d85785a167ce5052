// Releasing the GIL around C++ work so that it stays safe at interpreter exit. Thread-safe.
//
// A daemon thread that comes back from C++ while the interpreter is finalizing is ended by Python with
// pthread_exit when it asks for the GIL; inside pybind11's (noexcept) GIL guard that is std::terminate. So
// every release goes through GilRelease: at exit (the atexit handler install_exit_guard() registers), a
// thread other than the exiting one that comes back from C++ waits forever instead of asking for the GIL
// (Python 3.14 does the same for its own daemon threads), and the handler first lets every thread that was
// already on its way back take the GIL, so none is caught half-way.
#pragma once

#include <Python.h>

namespace eventhooks::python {

class GilRelease {
 public:
  GilRelease();
  ~GilRelease();
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* state_;
};

// Registers the atexit handler; call once, with the GIL held, when the module is imported.
void install_exit_guard();

}  // namespace eventhooks::python
