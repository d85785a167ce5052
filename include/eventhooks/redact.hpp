// Masking of secrets for logs, errors and descriptions. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "eventhooks/export.hpp"

namespace eventhooks {

// "***" for any non-empty secret (nothing of it is revealed), "" for an empty one.
EVENTHOOKS_EXPORT std::string mask(std::string_view secret);
// A URL with its userinfo password and query string masked: https://u:***@host/path?***
EVENTHOOKS_EXPORT std::string redact_url(std::string_view url);
// Replaces every occurrence of `secret` in `text` by "***" (for messages that quote a peer's reply).
EVENTHOOKS_EXPORT std::string scrub(std::string text, std::string_view secret);

}  // namespace eventhooks
