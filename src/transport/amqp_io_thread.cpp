#include "transport/amqp_io_thread.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

#include "core/batch_scheduling.hpp"

namespace eventhooks::detail {

AmqpIoThread::AmqpIoThread() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error("eventfd failed");
}

AmqpIoThread::~AmqpIoThread() {
  join();
  ::close(fd_);
}

void AmqpIoThread::start(bool batch_scheduling, const char* what, std::function<void()> loop) {
  thread_ = std::thread([batch_scheduling, what, loop = std::move(loop)] {
    if (batch_scheduling) run_as_batch_work(what);
    loop();
  });
}

void AmqpIoThread::join() {
  if (thread_.joinable()) thread_.join();
}

void AmqpIoThread::wake() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
}

void AmqpIoThread::sleep(std::mutex& mu, const std::function<bool()>& has_work, int sockfd,
                         std::chrono::milliseconds wait) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {sockfd, POLLIN, 0}};
  {
    std::lock_guard lock(mu);
    if (has_work()) return;
    asleep_ = true;
  }
  ::poll(fds, sockfd >= 0 ? 2 : 1, static_cast<int>(wait.count()));
  {
    std::lock_guard lock(mu);
    asleep_ = false;
  }
  if (fds[0].revents & POLLIN) {
    std::uint64_t drained = 0;
    [[maybe_unused]] auto n = ::read(fd_, &drained, sizeof drained);
  }
}

}  // namespace eventhooks::detail
