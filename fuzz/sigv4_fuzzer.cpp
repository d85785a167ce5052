// SigV4 canonicalisation (src/transport/sigv4.hpp): URL path and query, header names and values.
// Checks, for every request sigv4_sign() accepts:
//  - the canonical request has its fixed shape: method, path, query, one line per signed header, a blank
//    line, the signed-header list (sorted, unique, lower-case), the body hash; no header value adds a line;
//  - the canonical path starts with '/', has no empty, "." or ".." segment, and only unreserved characters
//    and upper-case %XX escapes; the canonical query only those, '=' and '&', with its pairs sorted;
//  - canonicalising the canonical query again changes nothing;
//  - signing is deterministic, and aws_uri_encode() output decodes back to its input.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "transport/sigv4.hpp"

namespace {

using eventhooks::fuzz::check;
namespace aws = eventhooks::detail;

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

bool upper_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Only unreserved characters, %XX with upper-case hex, and the characters in `extra`.
bool encoded(std::string_view text, std::string_view extra) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (unreserved(text[i]) || extra.find(text[i]) != std::string_view::npos) continue;
    if (text[i] == '%' && i + 2 < text.size() && upper_hex(text[i + 1]) && upper_hex(text[i + 2])) {
      i += 2;
      continue;
    }
    return false;
  }
  return true;
}

std::string decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const auto end = text.find(sep, pos);
    out.push_back(text.substr(pos, end - pos));
    if (end == std::string::npos) return out;
    pos = end + 1;
  }
}

// What a URL taken from a config file can hold and curl would still send: printable ASCII, no space.
bool sendable_url(std::string_view url) {
  return std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// An HTTP header name (RFC 9110 token).
bool token(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return unreserved(c) || std::string_view("!#$%&'*+^`|").find(c) != std::string_view::npos;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  aws::SigV4Request request;
  static constexpr const char* kMethods[] = {"POST", "GET", "put", "DELETE"};
  request.method = in.PickValueInArray(kMethods);
  const int headers = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < headers; ++i) {
    std::string name = in.ConsumeRandomLengthString(30);
    std::string value = in.ConsumeRandomLengthString(100);
    if (token(name)) request.headers.emplace_back(std::move(name), std::move(value));
  }
  request.body = in.ConsumeRandomLengthString(100);
  const std::string to_encode = in.ConsumeRandomLengthString(100);
  request.url = in.ConsumeRemainingBytesAsString();

  const std::string encoded_text = aws::aws_uri_encode(to_encode, false);
  check(encoded(encoded_text, "") && decode(encoded_text) == to_encode, "aws_uri_encode does not round-trip");

  if (!sendable_url(request.url)) return 0;
  const aws::AwsCredentials credentials{"AKIDEXAMPLE", "fuzz-secret-key", ""};
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto sig = aws::sigv4_sign(request, credentials, "eu-west-1", "ses", now);
  if (!sig) return 0;

  auto again = aws::sigv4_sign(request, credentials, "eu-west-1", "ses", now);
  check(again && again->authorization == sig->authorization, "signing is not deterministic");

  const auto lines = split(sig->canonical_request, '\n');
  check(lines.size() >= 7, "canonical request too short", sig->canonical_request);
  std::string method = request.method;
  std::transform(method.begin(), method.end(), method.begin(), [](char c) { return c & ~0x20; });
  check(lines[0] == method, "canonical method", lines[0]);

  const std::string& path = lines[1];
  check(!path.empty() && path[0] == '/' && encoded(path, "/"), "canonical path encoding", path);
  const auto segments = split(path, '/');
  for (std::size_t i = 1; i < segments.size(); ++i) {
    const bool last = i + 1 == segments.size();
    check((!segments[i].empty() || last) && segments[i] != "." && segments[i] != "..",
          "canonical path has an empty, '.' or '..' segment", path);
  }

  const std::string& query = lines[2];
  check(encoded(query, "=&"), "canonical query encoding", query);
  if (!query.empty()) {
    auto pairs = split(query, '&');
    for (const auto& pair : pairs) check(std::count(pair.begin(), pair.end(), '=') == 1, "query pair", query);
    check(std::is_sorted(pairs.begin(), pairs.end(),
                         [](const std::string& a, const std::string& b) {
                           const auto ea = a.find('='), eb = b.find('=');
                           return std::pair(a.substr(0, ea), a.substr(ea + 1)) <
                                  std::pair(b.substr(0, eb), b.substr(eb + 1));
                         }),
          "canonical query not sorted", query);
  }
  aws::SigV4Request requery;
  requery.url = "https://email.eu-west-1.amazonaws.com/?" + query;
  auto resigned = aws::sigv4_sign(requery, credentials, "eu-west-1", "ses", now);
  check(resigned && split(resigned->canonical_request, '\n')[2] == query, "canonical query is not stable",
        query);

  // The headers, then a blank line, the signed-header list and the body hash.
  const std::size_t blank = lines.size() - 3;
  check(lines[blank].empty(), "no blank line after the canonical headers", sig->canonical_request);
  check(lines.back() == aws::sha256_hex(request.body), "body hash");
  std::vector<std::string> names;
  for (std::size_t i = 3; i < blank; ++i) {
    const auto colon = lines[i].find(':');
    check(colon != std::string::npos && colon > 0, "canonical header line", lines[i]);
    names.push_back(lines[i].substr(0, colon));
  }
  check(std::adjacent_find(names.begin(), names.end(), std::greater_equal<>()) == names.end(),
        "canonical headers not sorted and unique", sig->canonical_request);
  std::string signed_headers;
  for (const auto& n : names) signed_headers += (signed_headers.empty() ? "" : ";") + n;
  check(lines[blank + 1] == signed_headers, "signed headers differ from the canonical headers",
        sig->canonical_request);
  check(sig->authorization.find("SignedHeaders=" + signed_headers + ",") != std::string::npos,
        "Authorization names other signed headers", sig->authorization);
  return 0;
}
