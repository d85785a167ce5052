#include "eventhooks/payload.hpp"

namespace eventhooks {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

Payload::Payload(nlohmann::ordered_json value) {
  if (value.is_string()) {
    v_ = value.get<std::string>();
  } else if (value.is_null()) {
    v_ = std::monostate{};
  } else {
    v_ = std::make_shared<const nlohmann::ordered_json>(std::move(value));
  }
}

bool Payload::operator==(const Payload& other) const {
  if (v_.index() != other.v_.index()) return false;
  switch (v_.index()) {
    case 0: return true;
    case 1: return std::get<1>(v_) == std::get<1>(other.v_);
    default: return *std::get<2>(v_) == *std::get<2>(other.v_);
  }
}

Payload::Payload(const nlohmann::json& value) : Payload(nlohmann::ordered_json(value)) {}

Payload Payload::from_cli_text(std::string_view text) {
  // Only an object counts as JSON: "42" or "[1]" on a command line are meant as text.
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    auto parsed = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) return Payload(std::move(parsed));
  }
  return Payload(std::string(text));
}

bool Payload::empty() const noexcept {
  switch (v_.index()) {
    case 0: return true;
    case 1: return std::get<1>(v_).empty();
    default: return std::get<2>(v_)->empty();
  }
}

std::string Payload::to_json_body() const {
  switch (v_.index()) {
    case 0: return "null";
    case 1:
      return nlohmann::ordered_json(std::get<1>(v_))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    default: return std::get<2>(v_)->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

std::string Payload::to_text() const {
  switch (v_.index()) {
    case 0: return {};
    case 1: return std::get<1>(v_);
    default: return std::get<2>(v_)->dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

nlohmann::ordered_json Payload::to_stored() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (v_.index() == 1) out["text"] = std::get<1>(v_);
  if (v_.index() == 2) out["json"] = *std::get<2>(v_);
  return out;
}

std::string Payload::to_stored_text() const {
  // Text that is not UTF-8 is stored with U+FFFD for each bad byte, as every hook that writes JSON sends
  // it: storing never fails (and never throws) on what the caller passed.
  constexpr auto replace = nlohmann::json::error_handler_t::replace;
  if (v_.index() == 1)
    return R"({"text":)" + nlohmann::ordered_json(std::get<1>(v_)).dump(-1, ' ', false, replace) + "}";
  if (v_.index() == 2) return R"({"json":)" + std::get<2>(v_)->dump(-1, ' ', false, replace) + "}";
  return "{}";
}

Payload Payload::from_stored(const nlohmann::ordered_json& stored) {
  if (stored.contains("text")) return Payload(stored.at("text").get<std::string>());
  if (stored.contains("json")) return Payload(stored.at("json"));
  return Payload();
}

}  // namespace eventhooks
