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
// Masks `secret` in `text` (a peer's reply that may quote it) with "***" where it stands as a value: a URL's
// userinfo (`:secret@`), a quoted or `=` value, a word of its own. A secret of 8 characters or more is masked
// wherever it occurs; a shorter one never inside a longer word or number, so a password "1" leaves 127.0.0.1
// and "p" leaves amqp as they are.
EVENTHOOKS_EXPORT std::string scrub(std::string text, std::string_view secret);

}  // namespace eventhooks
