// FileHook: appends one JSON line per event to a file — the embedded sink that needs no server.
// Thread-safe: lines from concurrent triggers never interleave.
#pragma once

#include <mutex>
#include <string>

#include "eventhooks/hook.hpp"

namespace eventhooks {

struct FileHookOptions {
  HookCommon common;
  std::string path;    // created if missing (with its parent folder), appended to otherwise
  bool fsync = false;  // fsync after each line: durable, slower
};

// Each line: {"id": ..., "name": ..., "realm": ..., "time": "RFC 3339", "data": <object or string>}
class EVENTHOOKS_EXPORT FileHook final : public Hook {
 public:
  explicit FileHook(FileHookOptions options);
  std::string_view type() const noexcept override { return "FileHook"; }
  std::string describe() const override;
  static std::string render_line(const Event& event);

 protected:
  Result<Receipt> send(const Event& event) override;

 private:
  FileHookOptions options_;
  std::mutex mutex_;
};

}  // namespace eventhooks
