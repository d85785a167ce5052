#include "config/network_keys.hpp"

#include <string>
#include <utility>
#include <vector>

namespace eventhooks::detail {
namespace {

void add_cidrs(ConfigReader& block, const char* key, std::vector<std::string>& to) {
  const std::vector<std::string> written = block.string_list(key);
  for (std::size_t i = 0; i < written.size(); ++i) {
    const auto cidr = Cidr::parse(written[i]);
    if (!cidr) block.fail(key, "item " + std::to_string(i + 1) + ": " + cidr.error().message);
    to.push_back(written[i]);
  }
}

}  // namespace

NetworkRules read_network_rules(ConfigReader& block, NetworkRules base) {
  add_cidrs(block, "deny", base.deny);
  add_cidrs(block, "allow", base.allow);
  base.deny_private = block.optional_bool("deny_private", base.deny_private);
  return base;
}

}  // namespace eventhooks::detail
