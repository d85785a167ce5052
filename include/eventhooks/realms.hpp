// Realms: which triggers a hook answers to. The rule of the Python eventhooks
// library, exactly:
// fires = realms empty || (realm given && realm in realms). Value type.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventhooks/export.hpp"

namespace eventhooks {

class EVENTHOOKS_EXPORT Realms {
 public:
  Realms() = default;
  Realms(std::initializer_list<std::string> names) : names_(names) {}
  explicit Realms(std::vector<std::string> names) : names_(std::move(names)) {}

  bool allows(std::optional<std::string_view> realm) const noexcept;
  bool empty() const noexcept { return names_.empty(); }
  const std::vector<std::string>& names() const noexcept { return names_; }
  // "any" when empty, else "a, b"
  std::string to_string() const;

 private:
  std::vector<std::string> names_;
};

}  // namespace eventhooks
