// AWS Signature Version 4 on OpenSSL (no AWS SDK), and the standard AWS credential/region/endpoint lookup.
// Pure functions apart from the environment and ~/.aws reads; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventhooks/error.hpp"

namespace eventhooks::detail {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret: never logged
  std::string session_token;      // secret; empty when not a temporary credential
  bool empty() const noexcept { return access_key_id.empty() || secret_access_key.empty(); }
};

struct SigV4Request {
  std::string method = "POST";
  std::string url;                                           // https://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;  // signed as given (Host is added if absent)
  std::string body;
};

struct SigV4Signature {
  std::string authorization;      // the Authorization header value
  std::string amz_date;           // X-Amz-Date value, yyyymmddThhmmssZ
  std::string canonical_request;  // for tests and debugging (holds no secret)
  std::string string_to_sign;
  // The headers to add to the request: X-Amz-Date, X-Amz-Security-Token (when any), Authorization.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Signs the request as botocore's SigV4Auth does: every given header is signed (names lower-cased, values
// trimmed and inner spaces collapsed), plus host and x-amz-date (and x-amz-security-token for session
// tokens).
Result<SigV4Signature> sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials,
                                  std::string_view region, std::string_view service,
                                  std::chrono::system_clock::time_point now);

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when keep_slash).
std::string aws_uri_encode(std::string_view text, bool keep_slash);

// The standard chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then the profile
// (AWS_PROFILE, else `profile` when given, else "default") of AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials.
std::optional<AwsCredentials> aws_credentials_from_environment(std::string_view profile = {});
// The region: `configured` when set, else AWS_REGION, else AWS_DEFAULT_REGION; empty when none.
std::string aws_region(std::string_view configured);
// The endpoint: `configured`, else AWS_ENDPOINT_URL_SES, else AWS_ENDPOINT_URL, else
// https://email.<region>.amazonaws.com.
std::string ses_endpoint(std::string_view configured, std::string_view region);

}  // namespace eventhooks::detail
