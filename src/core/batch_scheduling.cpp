#include "core/batch_scheduling.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "eventhooks/logger.hpp"

namespace eventhooks::detail {

void run_as_batch_work(const char* who) {
#ifdef SCHED_BATCH
  sched_param param{};
  if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    logger()->debug("{}: SCHED_BATCH not available ({}); the thread stays normal", who, std::strerror(errno));
  }
#else
  (void)who;
#endif
}

}  // namespace eventhooks::detail
