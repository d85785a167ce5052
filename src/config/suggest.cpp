#include "config/suggest.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace eventhooks::detail {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return to_lower(c); };
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    if (!best || d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  // Beyond about a third of the word, the "suggestion" is a different word, not a typo.
  const std::size_t limit = std::max<std::size_t>(2, name.size() / 3);
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

bool is_likely_typo(std::string_view written, std::string_view meant) {
  if (written.empty() || meant.empty()) return false;
  const std::size_t d = edit_distance(written, meant);
  if (d == 0) return written != meant;  // `URL` for `url`
  if (d == 1) return true;
  if (d != 2 || written.size() != meant.size()) return false;
  auto lower = [](char c) { return to_lower(c); };
  std::size_t first = 0;
  while (lower(written[first]) == lower(meant[first])) ++first;
  return first + 1 < written.size() && lower(written[first]) == lower(meant[first + 1]) &&
         lower(written[first + 1]) == lower(meant[first]) &&
         written.substr(first + 2).size() == meant.substr(first + 2).size() &&
         edit_distance(written.substr(first + 2), meant.substr(first + 2)) == 0;
}

}  // namespace eventhooks::detail
