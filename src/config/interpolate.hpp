// ${VAR} interpolation of config values. Private to the config loader (config_file.cpp); a header of its own
// so that the unit tests and the fuzz target (fuzz/interpolate_fuzzer.cpp) can call it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eventhooks::detail {

// [A-Za-z_][A-Za-z0-9_]*
bool is_variable_name(std::string_view s);

// `${VAR}`, `${VAR:-default}` (the default when VAR is unset or empty); `$${` is a literal `${`. Variables
// come from the environment. Returns the text with every reference replaced, or nullopt with `error` set
// (the message names the variable, never a value).
std::optional<std::string> interpolate_variables(std::string_view in, std::string& error);

}  // namespace eventhooks::detail
