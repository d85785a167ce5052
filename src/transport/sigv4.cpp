#include "transport/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/text.hpp"

namespace eventhooks::detail {
namespace {

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

std::string trim_collapse(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// RFC 3986 §5.2.4, as botocore's normalize_url_path does before encoding.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(pos, slash - pos);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != "." && !seg.empty()) {
      out.emplace_back(seg);
    }
    pos = slash + 1;
  }
  std::string result = "/";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i) result += '/';
    result += out[i];
  }
  const bool trailing = path.back() == '/' || path.ends_with("/.") || path.ends_with("/..");
  if (trailing && result != "/") result += '/';
  return result;
}

struct UrlParts {
  std::string scheme, host, path, query;
};

std::optional<UrlParts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts parts;
  parts.scheme = to_lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  parts.host = to_lower(authority);
  // botocore drops the port when it is the scheme's default.
  if (parts.scheme == "https" && parts.host.ends_with(":443")) parts.host.resize(parts.host.size() - 4);
  if (parts.scheme == "http" && parts.host.ends_with(":80")) parts.host.resize(parts.host.size() - 3);
  if (parts.host.empty()) return std::nullopt;
  if (path_start != std::string_view::npos) {
    std::string_view tail = rest.substr(path_start);
    if (const auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
    const auto q = tail.find('?');
    parts.path = std::string(tail.substr(0, q));
    if (q != std::string_view::npos) parts.query = std::string(tail.substr(q + 1));
  }
  return parts;
}

std::string canonical_query(std::string_view query) {
  if (query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view item = query.substr(pos, amp - pos);
    if (!item.empty()) {
      const auto eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      pairs.emplace_back(aws_uri_encode(percent_decode_lenient(key), false),
                         aws_uri_encode(percent_decode_lenient(value), false));
    }
    pos = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out.append(k).append("=").append(v);
  }
  return out;
}

std::string format_time(std::chrono::system_clock::time_point now, const char* format) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return to_hex(digest, sizeof digest);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string aws_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<SigV4Signature> sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials,
                                  std::string_view region, std::string_view service,
                                  std::chrono::system_clock::time_point now) {
  auto parts = split_url(request.url);
  if (!parts) return Error::permanent(ErrorCode::config, "cannot sign: not an absolute URL");
  if (credentials.empty()) return Error::permanent(ErrorCode::config, "cannot sign: no AWS credentials");
  if (region.empty()) return Error::permanent(ErrorCode::config, "cannot sign: no AWS region");

  SigV4Signature sig;
  sig.amz_date = format_time(now, "%Y%m%dT%H%M%SZ");
  const std::string date = sig.amz_date.substr(0, 8);

  // Lower-cased name → values in order; what botocore signs: every header but a few that proxies change.
  std::vector<std::pair<std::string, std::string>> headers;
  bool has_host = false;
  for (const auto& [name, value] : request.headers) {
    std::string n = to_lower(name);
    if (n == "expect" || n == "user-agent" || n == "x-amzn-trace-id" || n == "authorization" ||
        n == "x-amz-date" || n == "x-amz-security-token") {
      continue;
    }
    if (n == "host") has_host = true;
    headers.emplace_back(std::move(n), trim_collapse(value));
  }
  if (!has_host) headers.emplace_back("host", parts->host);
  headers.emplace_back("x-amz-date", sig.amz_date);
  if (!credentials.session_token.empty())
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers;
  std::string signed_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() =
          ',';  // replace the '\n' of the previous line: repeated headers join with ','
      canonical_headers += headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].first;
  }

  std::string method = request.method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  sig.canonical_request = method + "\n" + aws_uri_encode(remove_dot_segments(parts->path), true) + "\n" +
                          canonical_query(parts->query) + "\n" + canonical_headers + "\n" + signed_headers +
                          "\n" + sha256_hex(request.body);

  const std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  sig.string_to_sign =
      "AWS4-HMAC-SHA256\n" + sig.amz_date + "\n" + scope + "\n" + sha256_hex(sig.canonical_request);

  const std::string k_date = hmac_sha256("AWS4" + credentials.secret_access_key, date);
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  const std::string k_signing = hmac_sha256(k_service, "aws4_request");
  const std::string raw = hmac_sha256(k_signing, sig.string_to_sign);
  const std::string signature = to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());

  sig.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
  sig.headers.emplace_back("X-Amz-Date", sig.amz_date);
  if (!credentials.session_token.empty())
    sig.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  sig.headers.emplace_back("Authorization", sig.authorization);
  return sig;
}

std::optional<AwsCredentials> aws_credentials_from_environment(std::string_view profile) {
  AwsCredentials creds{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
  if (!creds.empty()) return creds;

  std::string name = env("AWS_PROFILE");
  if (name.empty()) name = std::string(profile);
  if (name.empty()) name = "default";
  std::filesystem::path file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    const std::string home = env("HOME");
    if (home.empty()) return std::nullopt;
    file = std::filesystem::path(home) / ".aws" / "credentials";
  }
  std::ifstream in(file);
  if (!in) return std::nullopt;
  AwsCredentials found;
  bool in_section = false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_section = trim(std::string_view(t).substr(1, t.size() - 2)) == name;
      continue;
    }
    if (!in_section) continue;
    const auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = to_lower(trim(std::string_view(t).substr(0, eq)));
    const std::string value = trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id")
      found.access_key_id = value;
    else if (key == "aws_secret_access_key")
      found.secret_access_key = value;
    else if (key == "aws_session_token")
      found.session_token = value;
  }
  if (found.empty()) return std::nullopt;
  return found;
}

std::string aws_region(std::string_view configured) {
  if (!configured.empty()) return std::string(configured);
  std::string r = env("AWS_REGION");
  if (r.empty()) r = env("AWS_DEFAULT_REGION");
  return r;
}

std::string ses_endpoint(std::string_view configured, std::string_view region) {
  std::string e(configured);
  if (e.empty()) e = env("AWS_ENDPOINT_URL_SES");
  if (e.empty()) e = env("AWS_ENDPOINT_URL");
  if (e.empty()) e = "https://email." + std::string(region) + ".amazonaws.com";
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

}  // namespace eventhooks::detail
