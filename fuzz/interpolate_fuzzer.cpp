// ${VAR} interpolation of config values (src/config/interpolate.hpp) on arbitrary text.
// Checks: no crash; text without '$' comes back unchanged; escaping every "${" as "$${" gives the text back
// (the documented way to write a literal "${"); a default is used as written when the variable is unset;
// a set variable is replaced by its value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/interpolate.hpp"
#include "fuzz_check.hpp"

namespace {

using eventhooks::detail::interpolate_variables;
using eventhooks::fuzz::check;

constexpr const char* kSet = "EVENTHOOKS_FUZZ_SET";
constexpr const char* kSetValue = "value-${NOT_AGAIN}";  // a value is not interpolated again
constexpr const char* kUnset = "EVENTHOOKS_FUZZ_UNSET";

std::string escape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) out += '$';
    out += text[i];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv(kSet, kSetValue, 1);
  unsetenv(kUnset);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;

  auto result = interpolate_variables(text, error);
  if (text.find('$') == std::string_view::npos) {
    check(result.has_value() && *result == text, "text without '$' changed");
  }
  check(result.has_value() || !error.empty(), "failed without an error message");

  error.clear();
  auto escaped = interpolate_variables(escape(text), error);
  check(escaped.has_value(), "escaped text did not interpolate", error);
  check(*escaped == text, "escaping every '${' as '$${' does not give the text back", *escaped);

  if (text.find('}') == std::string_view::npos) {
    auto defaulted =
        interpolate_variables("${" + std::string(kUnset) + ":-" + std::string(text) + "}", error);
    check(defaulted.has_value() && *defaulted == text,
          "the default of an unset variable is not used as written");
    auto set = interpolate_variables("${" + std::string(kSet) + ":-" + std::string(text) + "}" + escape(text),
                                     error);
    check(set.has_value() && *set == kSetValue + std::string(text),
          "a set variable is not replaced by its value");
  }
  return 0;
}
