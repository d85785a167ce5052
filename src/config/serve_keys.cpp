// The `serve:` section and the API key check. Keys are hashed (SHA-256) as soon as they are read, so the
// Config holds no key, and compared with CRYPTO_memcmp, so a wrong key takes as long as a right one.
#include "config/serve_keys.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/text.hpp"

namespace eventhooks {
namespace {

constexpr std::string_view kHashPrefix = "sha256:";

std::string sha256(std::string_view text) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "sha256:<64 hex digits>" (a key given as its hash, so that the file holds no key) or the key itself.
// Returns "" for a malformed hash.
std::string key_hash(std::string_view entry) {
  if (!entry.starts_with(kHashPrefix)) return sha256(entry);
  const std::string_view hex = entry.substr(kHashPrefix.size());
  if (hex.size() != std::size_t{2} * SHA256_DIGEST_LENGTH) return {};
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

bool ServeConfig::accepts_key(std::string_view key) const {
  const std::string presented = sha256(key);
  // Every stored hash is compared, whichever matches: the time taken does not say which key (or whether
  // an early one) matched.
  int matches = 0;
  for (const auto& h : api_key_hashes) {
    if (h.size() == presented.size()) matches |= CRYPTO_memcmp(h.data(), presented.data(), h.size()) == 0;
  }
  return matches != 0 && !key.empty();
}

std::optional<ServeConfig::Address> ServeConfig::parse_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return {};
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return {};
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int n = -1;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() || n < 0 ||
      n > 65535) {
    return {};
  }
  return Address{std::string(host), n};
}

namespace detail {

ServeConfig read_serve_config(ConfigReader& keys, const std::string& base_dir) {
  ServeConfig serve;
  if (auto listen = keys.maybe_string("listen")) {
    auto address = ServeConfig::parse_address(*listen);
    if (!address)
      keys.fail("listen", "'" + *listen + "' is not HOST:PORT (e.g. 127.0.0.1:8642 or [::1]:8642)");
    serve.listen = *address;
  }
  auto add_key = [&](std::string_view entry, std::string_view key_name) {
    std::string hash = key_hash(entry);
    // The entry is never quoted: it may be a key.
    if (hash.empty()) keys.fail(key_name, "a 'sha256:' entry must be followed by 64 hex digits");
    if (entry.empty()) keys.fail(key_name, "an API key must not be empty");
    serve.api_key_hashes.push_back(std::move(hash));
  };
  for (const auto& key : keys.string_list("api_keys")) add_key(key, "api_keys");
  if (auto file = keys.maybe_string("api_keys_file")) {
    std::filesystem::path path(*file);
    if (path.is_relative()) path = (std::filesystem::path(base_dir) / path).lexically_normal();
    std::ifstream in(path, std::ios::binary);
    if (!in) keys.fail("api_keys_file", "cannot read '" + path.string() + "'");
    // One key (or sha256:HASH) per line; blank lines and lines starting with '#' are skipped.
    for (std::string line; std::getline(in, line);) {
      const std::string entry = detail::trim(line);
      if (entry.empty() || entry.starts_with('#')) continue;
      add_key(entry, "api_keys_file");
    }
  }
  if (serve.api_key_hashes.empty()) {
    keys.fail("api_keys",
              "is required: at least one API key (in api_keys or api_keys_file); the ingest API "
              "is never open to anyone");
  }
  serve.max_body = static_cast<std::size_t>(
      keys.optional_int("max_body", static_cast<std::int64_t>(serve.max_body), 1, std::int64_t{1} << 30));
  serve.threads = static_cast<std::size_t>(
      keys.optional_int("threads", static_cast<std::int64_t>(serve.threads), 0, 256));
  serve.idle_timeout = std::chrono::seconds(
      keys.optional_int("idle_timeout", static_cast<std::int64_t>(serve.idle_timeout.count()), 1, 86'400));
  serve.max_pending =
      static_cast<std::uint64_t>(keys.optional_int("max_pending", 0, 0, std::int64_t{1'000'000'000'000}));
  serve.cert_file = keys.optional_string("cert_file");
  serve.key_file = keys.optional_string("key_file");
  if (serve.cert_file.empty() != serve.key_file.empty()) {
    keys.fail(serve.cert_file.empty() ? "cert_file" : "key_file", "HTTPS needs both cert_file and key_file");
  }
  for (auto* file : {&serve.cert_file, &serve.key_file}) {
    if (!file->empty() && std::filesystem::path(*file).is_relative())
      *file = (std::filesystem::path(base_dir) / *file).lexically_normal().string();
  }
  keys.finish();
  return serve;
}

}  // namespace detail
}  // namespace eventhooks
