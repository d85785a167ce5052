// The thread that runs an AMQP connection's I/O loop (AmqpPublisher, AmqpConsumer), and how callers wake it.
//
// The loop sleeps in poll() on the connection's socket and an eventfd. Callers hand work over under the
// owner's mutex and write the eventfd only when the loop said it is asleep: under load it rarely sleeps, and
// a syscall per message to wake a thread that is already awake is what would cost throughput.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

namespace eventhooks::detail {

class AmqpIoThread {
 public:
  AmqpIoThread();   // creates the eventfd; throws std::runtime_error if it cannot
  ~AmqpIoThread();  // joins the thread (the owner has told its loop to stop, then called wake()), closes the
                    // fd
  AmqpIoThread(const AmqpIoThread&) = delete;
  AmqpIoThread& operator=(const AmqpIoThread&) = delete;

  // Runs `loop` on the thread, at batch scheduling priority when asked (core/batch_scheduling.hpp).
  void start(bool batch_scheduling, const char* what, std::function<void()> loop);
  void join();

  // For callers, with the owner's mutex held: whether the loop sleeps, so wake() must be called (after
  // unlocking).
  bool asleep() const { return asleep_; }
  void wake() const;

  // For the loop: sleeps until `sockfd` (-1: none) is readable, wake() is called or `wait` has passed, unless
  // `has_work()`, asked with `mu` (the owner's mutex) held, says there is something to do now.
  void sleep(std::mutex& mu, const std::function<bool()>& has_work, int sockfd,
             std::chrono::milliseconds wait);

 private:
  int fd_ = -1;
  bool asleep_ = false;  // guarded by the owner's mutex
  std::thread thread_;
};

}  // namespace eventhooks::detail
