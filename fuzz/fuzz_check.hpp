// Shared by the fuzz targets: a property check that stops the run with a readable message.
#pragma once

#include <cstdio>
#include <string_view>

namespace eventhooks::fuzz {

// libFuzzer saves the input that reached a trap as crash-<sha1>; the message says which property broke.
inline void check(bool ok, const char* property, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "\nPROPERTY VIOLATED: %s\n", property);
  if (!detail.empty()) std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  __builtin_trap();
}

}  // namespace eventhooks::fuzz
