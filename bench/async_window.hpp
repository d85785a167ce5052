// One caller keeping a window of asynchronous deliveries in flight, as wrk, smtp-source and the rabbitmq-c
// reference loop keep theirs: the shared loop of the benchmarks' async:N modes.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "eventhooks/hook.hpp"

namespace bench {

// While more() is true, starts deliveries with start(done), never more than `window` unfinished; then waits
// until all are finished. start must arrange for done(outcome) to be called exactly once per delivery (for
// a hook: hook.deliver_async(event, done)); on_outcome sees every outcome, on whichever thread it arrives.
inline void keep_in_flight(int window, const std::function<bool()>& more,
                           const std::function<void(eventhooks::Hook::OutcomeCallback)>& start,
                           const std::function<void(const eventhooks::Outcome&)>& on_outcome) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  while (more()) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    start([&](eventhooks::Outcome out) {
      on_outcome(out);
      std::lock_guard lock(mu);
      --in_flight;
      cv.notify_one();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
}

}  // namespace bench
