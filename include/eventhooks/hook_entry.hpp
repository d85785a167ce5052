// HookEntry: one hook as the delivery engine takes it — the hook, its retry policy and where it was defined.
// Value type.
#pragma once

#include <string>

#include "eventhooks/hook.hpp"
#include "eventhooks/retry.hpp"

namespace eventhooks {

// Where a value came from, for error messages: "hooks.yaml:12".
struct SourceLocation {
  std::string file;  // empty when built from code
  int line = 0;      // 1-based; 0 = unknown
};

struct HookEntry {
  HookPtr hook;
  RetryPolicy retry;
  SourceLocation location;  // empty when built in code
};

}  // namespace eventhooks
