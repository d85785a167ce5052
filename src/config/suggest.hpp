// "Did you mean ...?" for unknown keys and hook types: the nearest known name by edit distance. Pure
// functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventhooks::detail {

// Levenshtein distance, case-insensitive (a user who types `webhook` for `WebHook` meant it).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, if it is close enough to be a plausible typo.
std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates);

// True when `written` is `meant` with one letter added, dropped or changed, or two neighbours swapped.
// Stricter than nearest_name(): it blames a present key for a missing one (`urll` for `url`) without knowing
// the other keys of the hook, so `port` must not be taken for a misspelt `host`.
bool is_likely_typo(std::string_view written, std::string_view meant);

}  // namespace eventhooks::detail
