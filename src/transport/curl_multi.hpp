// CurlLoops: the threads that drive libcurl transfers asynchronously for HttpClient and SmtpClient. Each loop
// is one libcurl multi handle on one thread; its transfers share the multi handle's connection cache, so a
// few connections (HTTP keep-alive, SMTP sessions) carry many transfers. A client configures an easy handle
// on its caller's thread and submits it; the loop runs it and calls back on its own thread.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace eventhooks::detail {

// One transfer handed to a loop. Exactly one of finished() and cancelled() is called, on the loop's thread
// (or, for a loop that is already stopping, on the submitting thread), and the object is deleted after it.
class CurlTransfer {
 public:
  explicit CurlTransfer(CURL* easy) : easy_(easy) {}
  virtual ~CurlTransfer() = default;
  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  CURL* easy() const noexcept { return easy_; }
  // libcurl is done with the transfer; the handle is out of the multi handle and belongs to the transfer
  // again (give it back to its pool).
  virtual void finished(CURLcode rc) = 0;
  // The loop stopped first. The loop has cleaned up the handle: do not touch it, and do not touch the
  // client either — it may be gone.
  virtual void cancelled() = 0;

 private:
  CURL* easy_;
};

class CurlLoop;

// A fixed set of loops, started on first use, requests spread round robin. Stops (and joins) in its
// destructor; transfers still running then are cancelled. With batch_scheduling the loop threads run as
// batch work (core/batch_scheduling.hpp), like the dispatcher's.
class CurlLoops {
 public:
  CurlLoops(std::size_t threads, bool batch_scheduling)
      : threads_(threads == 0 ? 1 : threads), batch_scheduling_(batch_scheduling) {}
  ~CurlLoops();
  CurlLoops(const CurlLoops&) = delete;
  CurlLoops& operator=(const CurlLoops&) = delete;

  void submit(std::unique_ptr<CurlTransfer> transfer);

 private:
  std::size_t threads_;
  bool batch_scheduling_;
  std::once_flag started_;
  std::vector<std::shared_ptr<CurlLoop>> loops_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace eventhooks::detail
