#include "config/interpolate.hpp"

#include <algorithm>
#include <cstdlib>

namespace eventhooks::detail {

bool is_variable_name(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.empty() || !alpha(s.front())) return false;
  return std::all_of(s.begin() + 1, s.end(), [&](char c) { return alpha(c) || digit(c); });
}

std::optional<std::string> interpolate_variables(std::string_view in, std::string& error) {
  std::string out;
  for (std::size_t i = 0; i < in.size();) {
    if (in.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (in.compare(i, 2, "${") != 0) {
      out += in[i++];
      continue;
    }
    const std::size_t close = in.find('}', i + 2);
    if (close == std::string_view::npos) {
      error = "unterminated '${' (write '$${' for a literal '${')";
      return std::nullopt;
    }
    const std::string_view inner = in.substr(i + 2, close - i - 2);
    const std::size_t sep = inner.find(":-");
    const std::string name(inner.substr(0, sep));
    if (!is_variable_name(name)) {
      error = "'${" + std::string(inner) + "}' is not a valid variable reference";
      return std::nullopt;
    }
    if (const char* value = std::getenv(name.c_str()); value != nullptr && *value != '\0') {
      out += value;
    } else if (sep != std::string_view::npos) {
      out += inner.substr(sep + 2);
    } else {
      error = "environment variable '" + name;
      error.append("' is not set (give a default with ${").append(name).append(":-value})");
      return std::nullopt;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace eventhooks::detail
