// Payload::from_cli_text(), the CLI's --data rule: text that parses as a JSON object is an object, anything
// else is the text itself.
// Checks: a text payload holds the input unchanged; a JSON payload came from text starting (after
// whitespace) with '{' and its compact body parses back through from_cli_text() to the same payload;
// to_json_body() is always valid JSON (a text's body is the JSON string of the text when it is UTF-8);
// to_stored()/from_stored() round-trip; to_stored_text() is valid JSON that round-trips for UTF-8 text and
// never throws; first_invalid_utf8() agrees with nlohmann's strict UTF-8 check; to_text() does not throw.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventhooks/payload.hpp"
#include "fuzz_check.hpp"

namespace {

using eventhooks::Payload;
using eventhooks::fuzz::check;

bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();  // the strict error handler throws on invalid UTF-8
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Payload payload = Payload::from_cli_text(text);
  check(!payload.is_null(), "from_cli_text gave no data");

  const std::string body = payload.to_json_body();
  const auto parsed = nlohmann::ordered_json::parse(body, nullptr, false);
  check(!parsed.is_discarded(), "to_json_body() is not valid JSON", body);

  if (payload.is_text()) {
    check(payload.text() == text, "a text payload does not hold the input unchanged");
    check(parsed.is_string(), "a text payload's body is not a JSON string", body);
    if (valid_utf8(payload.text())) {
      check(parsed.get<std::string>() == payload.text(), "a text payload's body is not its text", body);
    }
  } else {
    check(payload.is_json() && payload.json().is_object(), "from_cli_text gave JSON that is not an object");
    const auto first = text.find_first_not_of(" \t\r\n");
    check(first != std::string_view::npos && text[first] == '{', "JSON from text not starting with '{'");
    check(parsed == payload.json(), "to_json_body() does not parse back to the object", body);
    check(Payload::from_cli_text(body) == payload, "the compact body does not round-trip", body);
  }
  check(Payload::from_stored(payload.to_stored()) == payload, "to_stored()/from_stored() do not round-trip");
  const std::string stored = payload.to_stored_text();
  const auto stored_json = nlohmann::ordered_json::parse(stored, nullptr, false);
  check(!stored_json.is_discarded(), "to_stored_text() is not valid JSON", stored);
  const auto bad_at = eventhooks::first_invalid_utf8(text);
  const bool utf8 = valid_utf8(std::string(text));
  check(bad_at.has_value() != utf8, "first_invalid_utf8() and nlohmann disagree on whether it is UTF-8");
  if (bad_at) check(*bad_at < text.size(), "first_invalid_utf8() points past the end");
  if (bad_at) check(!valid_utf8(std::string(text.substr(0, *bad_at + 1))), "the byte it names is not bad");
  if (bad_at) check(valid_utf8(std::string(text.substr(0, *bad_at))), "a bad byte before the one it names");
  if (utf8) {
    check(Payload::from_stored(stored_json) == payload, "to_stored_text() does not round-trip", stored);
  }
  (void)payload.to_text();
  (void)payload.empty();
  return 0;
}
