// Small text helpers shared by every layer (private to the library). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eventhooks::detail {

// Without leading and trailing spaces, tabs, CRs and LFs.
std::string trim(std::string_view s);
// ASCII lower case (header names, schemes, ini keys).
inline char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string to_lower(std::string_view s);
// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b) noexcept;
// RFC 3986: unreserved characters kept, every other byte as %XX (upper-case hex).
std::string percent_encode(std::string_view s);
// %XX decoded; nullopt on a malformed escape (callers name the part, never quote it: it may be a password).
std::optional<std::string> percent_decode(std::string_view s);
// Any %XX decoded, a malformed escape kept as it is (lenient, for query strings that are re-encoded).
std::string percent_decode_lenient(std::string_view s);

}  // namespace eventhooks::detail
