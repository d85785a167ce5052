#include "eventhooks/realms.hpp"

#include <algorithm>

namespace eventhooks {

bool Realms::allows(std::optional<std::string_view> realm) const noexcept {
  if (names_.empty()) return true;
  if (!realm) return false;
  return std::find(names_.begin(), names_.end(), *realm) != names_.end();
}

std::string Realms::to_string() const {
  if (names_.empty()) return "any";
  std::string out;
  for (const auto& n : names_) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace eventhooks
