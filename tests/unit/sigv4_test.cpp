// SigV4: AWS's published test-suite signatures, and the same requests signed by botocore (python3-botocore).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_env.hpp"
#include "transport/sigv4.hpp"

namespace eventhooks::detail {
namespace {

using namespace std::chrono_literals;

const AwsCredentials kExample{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const auto kExampleTime = std::chrono::system_clock::time_point(1440938160s);  // 20150830T123600Z

std::string sign_suite(const std::string& method, const std::string& url) {
  SigV4Request r{method, url, {{"Host", "example.amazonaws.com"}}, ""};
  auto sig = sigv4_sign(r, kExample, "us-east-1", "service", kExampleTime);
  EXPECT_TRUE(sig);
  return sig ? sig->authorization : std::string();
}

constexpr const char* kSuitePrefix =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=";

TEST(SigV4_AwsSuite, GetVanillaMatchesPublishedSignature) {
  EXPECT_EQ(sign_suite("GET", "https://example.amazonaws.com/"),
            std::string(kSuitePrefix) + "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4_AwsSuite, GetVanillaQueryOrderKeyCaseMatchesPublishedSignature) {
  EXPECT_EQ(sign_suite("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1"),
            std::string(kSuitePrefix) + "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4_AwsSuite, PostVanillaMatchesPublishedSignature) {
  EXPECT_EQ(sign_suite("POST", "https://example.amazonaws.com/"),
            std::string(kSuitePrefix) + "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4_AwsSuite, GetUtf8PathMatchesPublishedSignature) {
  EXPECT_EQ(sign_suite("GET", "https://example.amazonaws.com/\xE1\x88\xB4"),
            std::string(kSuitePrefix) + "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

TEST(SigV4_AwsSuite, CanonicalRequestOfGetVanillaIsTheSuitesOne) {
  SigV4Request r{"GET", "https://example.amazonaws.com/", {{"Host", "example.amazonaws.com"}}, ""};
  auto sig = sigv4_sign(r, kExample, "us-east-1", "service", kExampleTime);
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4_SessionToken, IsSignedAndAddedAsHeader) {
  AwsCredentials creds = kExample;
  creds.session_token = "FQoGZXIvYXdzEXAMPLETOKEN";
  SigV4Request r{"POST", "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails", {}, "{}"};
  auto sig = sigv4_sign(r, creds, "eu-west-1", "ses", kExampleTime);
  ASSERT_TRUE(sig);
  EXPECT_NE(sig->authorization.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
            std::string::npos);
  bool has_token = false;
  for (const auto& [n, v] : sig->headers)
    has_token |= (n == "X-Amz-Security-Token" && v == creds.session_token);
  EXPECT_TRUE(has_token);
}

TEST(SigV4_Authorization, NeverContainsTheSecretKey) {
  SigV4Request r{"POST", "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails", {}, "{}"};
  auto sig = sigv4_sign(r, kExample, "eu-west-1", "ses", kExampleTime);
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->authorization.find(kExample.secret_access_key), std::string::npos);
  EXPECT_EQ(sig->canonical_request.find(kExample.secret_access_key), std::string::npos);
  EXPECT_EQ(sig->string_to_sign.find(kExample.secret_access_key), std::string::npos);
}

TEST(SigV4_MissingCredentials, IsAConfigError) {
  SigV4Request r{"POST", "https://email.eu-west-1.amazonaws.com/", {}, ""};
  auto sig = sigv4_sign(r, AwsCredentials{}, "eu-west-1", "ses", kExampleTime);
  ASSERT_FALSE(sig);
  EXPECT_EQ(sig.error().code, ErrorCode::config);
}

// botocore's SigV4Auth on the same request must produce the same Authorization header.
std::string botocore_authorization(const SigV4Request& r, const AwsCredentials& c, const std::string& region,
                                   const std::string& service, std::int64_t epoch) {
  nlohmann::json spec{{"method", r.method},
                      {"url", r.url},
                      {"headers", nlohmann::json::array()},
                      {"body", r.body},
                      {"access_key", c.access_key_id},
                      {"secret_key", c.secret_access_key},
                      {"token", c.session_token},
                      {"region", region},
                      {"service", service},
                      {"time", epoch}};
  for (const auto& [n, v] : r.headers) spec["headers"].push_back({n, v});
  test::TempDir dir;
  const auto file = dir / "request.json";
  std::ofstream(file) << spec.dump();
  std::string out;
  const int rc = test::run_command(
      "/usr/bin/python3 " EVENTHOOKS_SOURCE_DIR "/tests/support/sigv4_botocore.py < " + file.string(), &out);
  EXPECT_EQ(rc, 0) << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(SigV4_Botocore, SesSendEmailRequestSignsIdentically) {
  SigV4Request r{
      "POST",
      "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails",
      {{"Content-Type", "application/json"}},
      R"({"FromEmailAddress":"a@example.com","Content":{"Simple":{"Subject":{"Data":"caf\u00e9"}}}})"};
  auto sig = sigv4_sign(r, kExample, "eu-west-1", "ses", std::chrono::system_clock::time_point(1764474430s));
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->authorization, botocore_authorization(r, kExample, "eu-west-1", "ses", 1764474430));
}

TEST(SigV4_Botocore, SessionTokenQueryAndPortSignIdentically) {
  AwsCredentials creds{"ASIAEXAMPLE", "secret/with+chars=", "token/abc+def=="};
  SigV4Request r{"GET",
                 "http://127.0.0.1:4566/v2/email/account?b=2&a=1&Version=2010-05-08",
                 {{"X-Custom", "  spaced   value  "}, {"Content-Type", "application/json"}},
                 ""};
  auto sig = sigv4_sign(r, creds, "us-west-2", "ses", std::chrono::system_clock::time_point(1700000000s));
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->authorization, botocore_authorization(r, creds, "us-west-2", "ses", 1700000000));
}

TEST(SigV4_Botocore, DotSegmentsInPathSignIdentically) {
  SigV4Request r{"POST", "https://email.us-east-1.amazonaws.com/v2/./email/x/../outbound-emails", {}, "x"};
  auto sig = sigv4_sign(r, kExample, "us-east-1", "ses", kExampleTime);
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->authorization, botocore_authorization(r, kExample, "us-east-1", "ses", 1440938160));
}

}  // namespace
}  // namespace eventhooks::detail
