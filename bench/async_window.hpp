// Two ways of keeping a window of asynchronous deliveries in flight, shared by the benchmarks:
// keep_in_flight (async:N modes), one caller thread starting deliveries as slots free up, as smtp-source and
// the rabbitmq-c reference loop do; chain_in_flight (loop:N modes), each completion starting the next
// delivery from its callback on the transport's own I/O thread, as wrk's event loops do.
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

// While take() says there is more, keeps `window` chains of deliveries going: each delivery's callback starts
// the chain's next one, on whichever thread the callback runs (an I/O thread of the transport, which then
// keeps the next request on the same thread without any hand-over); returns once every chain has ended. take
// and on_outcome must be thread-safe.
inline void chain_in_flight(int window, const std::function<bool()>& take,
                            const std::function<void(eventhooks::Hook::OutcomeCallback)>& start,
                            const std::function<void(const eventhooks::Outcome&)>& on_outcome) {
  std::mutex mu;
  std::condition_variable cv;
  int chains = 0;
  std::function<void()> step = [&] {
    start([&](const eventhooks::Outcome& out) {
      on_outcome(out);
      if (take()) {
        step();
        return;
      }
      std::lock_guard lock(mu);
      --chains;
      cv.notify_one();
    });
  };
  for (int i = 0; i < window && take(); ++i) {
    {
      std::lock_guard lock(mu);
      ++chains;
    }
    step();
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return chains == 0; });
}

}  // namespace bench
