#include "eventhooks/redact.hpp"

namespace eventhooks {

std::string mask(std::string_view secret) {
  return secret.empty() ? std::string() : std::string("***");
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  auto scheme_end = out.find("://");
  std::size_t authority = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  auto path_start = out.find_first_of("/?#", authority);
  auto at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
  if (at != std::string::npos && at >= authority) {
    auto colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  auto q = out.find('?');
  if (q != std::string::npos && q + 1 < out.size()) {
    auto hash = out.find('#', q);
    out.replace(q + 1, (hash == std::string::npos ? out.size() : hash) - q - 1, "***");
  }
  return out;
}

std::string scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  // A secret this long does not occur by chance: every occurrence is it, wherever it stands.
  constexpr std::size_t kAlwaysMasked = 8;
  auto opens = [](char c) { return c == ' ' || c == '\t' || c == '\'' || c == '"' || c == '=' || c == '('; };
  auto closes = [](char c) {
    return c == ' ' || c == '\t' || c == '\'' || c == '"' || c == ',' || c == ';' || c == ')' || c == '.';
  };
  std::size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    const std::size_t end = pos + secret.size();
    const char before = pos == 0 ? ' ' : text[pos - 1];
    const char after = end == text.size() ? ' ' : text[end];
    const bool userinfo = before == ':' && after == '@';
    if (secret.size() >= kAlwaysMasked || userinfo || (opens(before) && closes(after))) {
      text.replace(pos, secret.size(), "***");
      pos += 3;
    } else {
      pos = end;
    }
  }
  return text;
}

}  // namespace eventhooks
