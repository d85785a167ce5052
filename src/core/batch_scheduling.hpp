// The scheduling policy of the library's own background threads (dispatcher workers, transport I/O threads).
#pragma once

namespace eventhooks::detail {

// Marks the calling thread as batch work (Linux SCHED_BATCH, no privilege needed): it keeps its fair share of
// the CPU, but waking it never preempts a running thread. A background thread woken by a finished request or
// a new job then waits for the application's running thread to block or use up its slice, instead of taking
// its CPU mid-call; and on a busy machine fewer wake-ups turn into context switches. `who` names the thread
// kind in the debug line logged when the policy cannot be set (the thread then stays as it was).
void run_as_batch_work(const char* who);

}  // namespace eventhooks::detail
