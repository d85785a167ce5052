// Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body" with the
// base64-decoded part of a `whsec_` secret. Pure functions on OpenSSL; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventhooks::detail {

// Exported (though private) so that the unit tests can check them against the published test vector.

// Standard base64 (with padding) of raw bytes.
std::string base64_encode(std::string_view bytes);
// Decodes standard base64; nullopt when the text is not valid base64.
std::optional<std::string> base64_decode(std::string_view text);

// The signing key of a "whsec_<base64>" secret (a bare base64 secret is accepted too, as the reference
// libraries do); nullopt when it does not decode to at least one byte.
std::optional<std::string> decode_webhook_secret(std::string_view secret);
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"
std::string sign_webhook(std::string_view key, std::string_view id, std::int64_t timestamp,
                         std::string_view body);

}  // namespace eventhooks::detail
