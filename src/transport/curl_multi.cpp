#include "transport/curl_multi.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

#include "core/batch_scheduling.hpp"

namespace eventhooks::detail {
namespace {
constexpr long kMaxCachedConnections = 256;
// The loop whose thread this is (null elsewhere): a transfer submitted from one of its callbacks stays on it.
thread_local CurlLoop* t_current_loop = nullptr;
}  // namespace

// One multi handle and the thread that drives it. Held by shared_ptr from both the owner and the thread, so
// that a loop whose owner is destroyed from one of the loop's own callbacks can finish on its own.
class CurlLoop {
 public:
  CurlLoop() : multi_(curl_multi_init()) {
    // libcurl's default cache holds 4 connections per transfer running, and shrinks with them, closing
    // sessions a moment later needed again. Keep as many as a busy client has transfers in flight.
    if (multi_ != nullptr) curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, kMaxCachedConnections);
  }
  ~CurlLoop() {
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }
  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

  std::thread thread;

  void submit(std::unique_ptr<CurlTransfer> t) {
    if (multi_ == nullptr) {  // curl_multi_init failed (out of memory): nothing can run here
      guarded([&] { t->finished(CURLE_FAILED_INIT); });
      return;
    }
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        // Only the first transfer of a batch wakes the loop: it takes the whole batch at once, and a wakeup
        // costs a write to libcurl's socket pair and a context switch. The loop's own thread (a callback
        // starting the next transfer) needs none: the loop looks at its inbox before it sleeps.
        wake = incoming_.empty() && t_current_loop != this;
        incoming_.push_back(std::move(t));
      }
    }
    if (t) {
      cancel(std::move(t));
      return;
    }
    if (wake) curl_multi_wakeup(multi_);
  }

  bool has_incoming() {
    std::lock_guard lock(mutex_);
    return !incoming_.empty() || stopping_;
  }

  // True when the calling thread is this loop's.
  bool is_current() const noexcept { return t_current_loop == this; }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      stop_flag_ = true;
    }
    curl_multi_wakeup(multi_);
  }

  void run() {
    if (multi_ == nullptr) return;  // submit() answers every transfer itself
    t_current_loop = this;
    std::vector<std::unique_ptr<CurlTransfer>> batch;
    int running = 0;
    for (;;) {
      bool stop_now = false;
      {
        std::lock_guard lock(mutex_);
        batch.swap(incoming_);
        stop_now = stopping_;
      }
      for (auto& t : batch) {
        if (stop_now) {
          cancel(std::move(t));
        } else {
          start(std::move(t));
        }
      }
      batch.clear();
      if (stop_now) break;

      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        const CURLcode rc = msg->data.result;
        curl_multi_remove_handle(multi_, easy);
        auto it =
            std::find_if(active_.begin(), active_.end(), [easy](const auto& t) { return t->easy() == easy; });
        if (it == active_.end()) continue;  // not ours: cannot happen, but never crash the loop on it
        std::unique_ptr<CurlTransfer> t = std::move(*it);
        *it = std::move(active_.back());
        active_.pop_back();
        if (stop_flag_.load()) {
          // An earlier callback of this batch stopped the loop (its owner is gone): do not call back into it.
          cancel(std::move(t));
        } else {
          guarded([&] { t->finished(rc); });
        }
      }
      // Callbacks may have started transfers: start them before sleeping.
      if (has_incoming()) continue;
      // Sleeps until a socket is ready, libcurl's next timeout, or curl_multi_wakeup from submit()/stop().
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    // Stopping: what is still running ends as cancelled, so every transfer hears back exactly once.
    for (auto& t : active_) {
      curl_multi_remove_handle(multi_, t->easy());
      cancel(std::move(t));
    }
    active_.clear();
  }

 private:
  template <typename F>
  static void guarded(F&& f) {
    try {
      f();
    } catch (...) {
      // A throwing callback must not take the loop (and every other transfer) down with it.
    }
  }

  static void cancel(std::unique_ptr<CurlTransfer> t) {
    curl_easy_cleanup(t->easy());
    guarded([&] { t->cancelled(); });
  }

  void start(std::unique_ptr<CurlTransfer> t) {
    if (curl_multi_add_handle(multi_, t->easy()) != CURLM_OK) {
      guarded([&] { t->finished(CURLE_FAILED_INIT); });
      return;
    }
    active_.push_back(std::move(t));
  }

  CURLM* multi_;
  std::mutex mutex_;  // guards incoming_ and stopping_
  std::vector<std::unique_ptr<CurlTransfer>> incoming_;
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};                 // stopping_, readable without the lock
  std::vector<std::unique_ptr<CurlTransfer>> active_;  // loop thread only
};

CurlLoops::~CurlLoops() {
  for (auto& loop : loops_) loop->stop();
  for (auto& loop : loops_) {
    if (loop->thread.get_id() == std::this_thread::get_id()) {
      // Destroyed from one of this loop's callbacks: the thread holds its own reference to the loop and
      // ends once that callback returns.
      loop->thread.detach();
    } else {
      loop->thread.join();
    }
  }
}

void CurlLoops::submit(std::unique_ptr<CurlTransfer> transfer) {
  std::call_once(started_, [this] {
    for (std::size_t i = 0; i < threads_; ++i) {
      auto loop = std::make_shared<CurlLoop>();
      loop->thread = std::thread([loop, batch = batch_scheduling_] {
        if (batch) run_as_batch_work("transport I/O thread");
        loop->run();
      });
      loops_.push_back(std::move(loop));
    }
  });
  // A transfer started from one of our loops' callbacks stays on that loop (no hand-over between threads);
  // others go round robin: each loop keeps its own connections, so requests spread evenly over them.
  for (auto& loop : loops_) {
    if (loop->is_current()) {
      loop->submit(std::move(transfer));
      return;
    }
  }
  loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]->submit(std::move(transfer));
}

}  // namespace eventhooks::detail
