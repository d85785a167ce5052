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
  std::size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    text.replace(pos, secret.size(), "***");
    pos += 3;
  }
  return text;
}

}  // namespace eventhooks
