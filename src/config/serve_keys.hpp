// The `serve:` section of a config file (ServeConfig, config.hpp): read and checked like a hook's keys, so
// a mistake is reported at its file and line. Private to the library.
#pragma once

#include <string>

#include "eventhooks/config.hpp"
#include "eventhooks/hook_registry.hpp"

namespace eventhooks::detail {

// Reads `serve:` through `keys` (a reader for that mapping). API keys are hashed here; `api_keys_file` is
// relative to `base_dir`.
ServeConfig read_serve_config(ConfigReader& keys, const std::string& base_dir);

}  // namespace eventhooks::detail
