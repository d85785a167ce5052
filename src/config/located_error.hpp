// A ConfigError whose message already names file, line, hook and key, so that callers up the stack do not
// prefix it a second time. Private to the library.
#pragma once

#include "eventhooks/error.hpp"

namespace eventhooks::detail {

class LocatedConfigError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

}  // namespace eventhooks::detail
