// MIME (RFC 5322 / 2045 / 2047) message building for the email hooks. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "eventhooks/error.hpp"

namespace eventhooks::detail {

// What an email hook hands to the SMTP transport: everything already checked by build_mime().
struct EmailMessage {
  std::string sender;                   // envelope MAIL FROM and From address
  std::string sender_name;              // display name; may be UTF-8 (encoded per RFC 2047)
  std::vector<std::string> recipients;  // envelope RCPT TO and the To header
  std::string subject;                  // may be UTF-8
  std::string text;                     // text/plain body, UTF-8
  std::string html;                     // optional text/html alternative; empty = none
  std::string message_id;               // "<...@...>"
  std::chrono::system_clock::time_point date{};
};

// Checks an address for the subset of RFC 5321 that mail servers accept without SMTPUTF8:
// dot-atom local part, a host name or [IP] literal, no spaces, no control characters, length limits.
// Returns a readable reason, or an empty string when the address is valid.
std::string address_problem(std::string_view address);
Result<void> validate_address(std::string_view what, std::string_view address);
// A header value must not carry CR or LF (header injection) nor NUL.
Result<void> validate_header_value(std::string_view what, std::string_view value);

// "=?UTF-8?B?...?=" words (folded) when `text` is not plain printable ASCII; `text` itself otherwise.
std::string encode_header_text(std::string_view text);
// `From`/`To` form: "Name <addr>" (name quoted or RFC 2047-encoded as needed), or just the address.
std::string format_mailbox(std::string_view name, std::string_view address);
// RFC 5322 date: "Mon, 30 Nov 2026 03:47:10 +0000".
std::string format_rfc5322_date(std::chrono::system_clock::time_point time);
// Quoted-printable (RFC 2045) with CRLF line ends; any input line end (LF, CRLF, CR) becomes CRLF. A line
// starting with "." or "From " is escaped too, so no transport ever has to dot-stuff or mangle it.
std::string quoted_printable(std::string_view text);
// "<id.hook@domain>" from the event's idempotency key, the hook's name and the sender's domain.
std::string make_message_id(std::string_view event_id, std::string_view hook_name, std::string_view sender);

// The whole message, CRLF line ends, ready for SMTP DATA. Validates every address and header value first:
// nothing is built from bad input.
Result<std::string> build_mime(const EmailMessage& message);

}  // namespace eventhooks::detail
