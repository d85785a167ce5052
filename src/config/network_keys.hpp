// The `network:` block (docs/network.md), read the same way at the top of a config file and inside a hook.
// Private to the library.
#pragma once

#include "eventhooks/hook_registry.hpp"
#include "eventhooks/network.hpp"

namespace eventhooks::detail {

// Reads `deny`, `allow` (lists of CIDRs, each checked: a bad one is reported at its key with the reason)
// and `deny_private` from `block`, adding the lists to `base`'s and replacing its deny_private when set.
NetworkRules read_network_rules(ConfigReader& block, NetworkRules base);

}  // namespace eventhooks::detail
