// MIME building, address checks and header injection for the email hooks (no I/O).
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "transport/mime.hpp"

namespace eventhooks::detail {
namespace {

using namespace std::chrono_literals;

EmailMessage sample() {
  EmailMessage m;
  m.sender = "alerts@example.com";
  m.sender_name = "Alert Bot";
  m.recipients = {"me@xyz.com", "you@xyz.com"};
  m.subject = "disk full";
  m.text = "Disk /var is 99% full.\n";
  m.message_id = "<0190b1c2-aaaa.disk@example.com>";
  m.date = std::chrono::system_clock::time_point(1440938160s);  // Sun, 30 Aug 2015 12:36:00 +0000
  return m;
}

TEST(Mime_PlainText, BuildsExactHeadersAndBody) {
  auto built = build_mime(sample());
  ASSERT_TRUE(built) << built.error().message;
  EXPECT_EQ(built.value(),
            "Date: Sun, 30 Aug 2015 12:36:00 +0000\r\n"
            "From: Alert Bot <alerts@example.com>\r\n"
            "To: me@xyz.com, you@xyz.com\r\n"
            "Subject: disk full\r\n"
            "Message-ID: <0190b1c2-aaaa.disk@example.com>\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "Disk /var is 99% full.\r\n");
}

TEST(Mime_NoSenderName, FromIsTheBareAddress) {
  auto m = sample();
  m.sender_name.clear();
  auto built = build_mime(m);
  ASSERT_TRUE(built);
  EXPECT_NE(built.value().find("\r\nFrom: alerts@example.com\r\n"), std::string::npos);
}

TEST(Mime_NonAsciiSenderName, IsEncodedPerRfc2047) {
  EXPECT_EQ(format_mailbox("J\xC3\xB6rg", "j@example.com"), "=?UTF-8?B?SsO2cmc=?= <j@example.com>");
}

TEST(Mime_SenderNameWithSpecials, IsQuoted) {
  EXPECT_EQ(format_mailbox("Ops, \"night\" shift", "o@example.com"),
            "\"Ops, \\\"night\\\" shift\" <o@example.com>");
}

TEST(Mime_NonAsciiSubject, IsEncodedInWordsThatSplitOnCharacterBoundaries) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "\xC3\xA9";  // 40 x é = 80 bytes: needs two encoded words
  const std::string encoded = encode_header_text(subject);
  EXPECT_EQ(encoded.rfind("=?UTF-8?B?", 0), 0u);
  const auto fold = encoded.find("\r\n ");
  ASSERT_NE(fold, std::string::npos);
  // 44 bytes (22 characters) in the first word: 45 would split a character.
  EXPECT_EQ(
      encoded.substr(0, fold),
      "=?UTF-8?B?" + std::string("w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=") + "?=");
}

// Found by fuzz/mime_fuzzer: folding at spaces cannot shorten a 1,000-character word below RFC 5322's line
// limit.
TEST(Mime_AsciiSubjectWithAWordTooLongToFold, IsEncodedSoNoLineExceeds998Characters) {
  auto message = sample();
  message.subject = "build " + std::string(1000, 'x') + " failed";
  auto built = build_mime(message);
  ASSERT_TRUE(built.ok());
  std::istringstream lines(built.value());
  std::string line;
  while (std::getline(lines, line)) EXPECT_LE(line.size(), 999u) << line.substr(0, 40);  // 998 + the CR
  EXPECT_NE(built.value().find("Subject: =?UTF-8?B?"), std::string::npos);
}

TEST(Mime_AsciiSubjectThatLooksEncoded, IsEncodedSoItReadsAsWritten) {
  EXPECT_EQ(encode_header_text("=?x?="), "=?UTF-8?B?PT94Pz0=?=");
}

TEST(Mime_QuotedPrintable, EncodesUtf8AndEqualsSign) {
  EXPECT_EQ(quoted_printable("caf\xC3\xA9 = 1"), "caf=C3=A9 =3D 1\r\n");
}

TEST(Mime_QuotedPrintable, NormalisesEveryLineEndToCrlf) {
  EXPECT_EQ(quoted_printable("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd\r\n");
}

TEST(Mime_QuotedPrintable, EncodesTrailingWhitespace) {
  EXPECT_EQ(quoted_printable("x \ny\t"), "x=20\r\ny=09\r\n");
}

TEST(Mime_QuotedPrintable, EscapesLeadingDotAndFromSoNoTransportMangles) {
  EXPECT_EQ(quoted_printable(".\nFrom here\nFromage"), "=2E\r\n=46rom here\r\nFromage\r\n");
}

TEST(Mime_QuotedPrintable, LongLinesAreSoftBrokenAtMost76Characters) {
  const std::string text(300, 'x');
  const std::string qp = quoted_printable(text);
  std::istringstream lines(qp);
  std::string line, joined;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    ASSERT_EQ(line.back(), '\r');
    line.pop_back();
    EXPECT_LE(line.size(), 76u);
    if (!line.empty() && line.back() == '=') line.pop_back();
    joined += line;
  }
  EXPECT_EQ(joined, text);
}

TEST(Mime_WithHtml, IsMultipartAlternativeWithTextThenHtml) {
  auto m = sample();
  m.html = "<p>Disk full</p>";
  auto built = build_mime(m);
  ASSERT_TRUE(built);
  const std::string& s = built.value();
  const auto ct = s.find("Content-Type: multipart/alternative; boundary=\"=_eventhooks_");
  ASSERT_NE(ct, std::string::npos);
  const auto q = s.find('"', ct) + 1;
  const std::string boundary = s.substr(q, s.find('"', q) - q);
  const auto text = s.find("--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n");
  const auto html = s.find("--" + boundary + "\r\nContent-Type: text/html; charset=utf-8\r\n");
  ASSERT_NE(text, std::string::npos);
  ASSERT_NE(html, std::string::npos);
  EXPECT_LT(text, html);
  EXPECT_NE(s.find("<p>Disk full</p>\r\n--" + boundary + "--\r\n"), std::string::npos);
}

TEST(Mime_SubjectWithLineBreak, IsRefusedAsHeaderInjection) {
  auto m = sample();
  m.subject = "hi\r\nBcc: victim@example.com";
  auto built = build_mime(m);
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error().code, ErrorCode::invalid_input);
  EXPECT_FALSE(built.error().retryable);
  EXPECT_NE(built.error().message.find("header injection"), std::string::npos);
}

TEST(Mime_SenderNameWithLineFeed, IsRefusedAsHeaderInjection) {
  auto m = sample();
  m.sender_name = "Bot\nBcc: x@y.z";
  EXPECT_FALSE(build_mime(m));
}

TEST(Mime_RecipientWithLineBreak, IsRefused) {
  auto m = sample();
  m.recipients = {"me@xyz.com\r\nRCPT TO:<x@y.z>"};
  auto built = build_mime(m);
  ASSERT_FALSE(built);
  EXPECT_NE(built.error().message.find("line break"), std::string::npos);
}

TEST(Mime_NoRecipients, IsRefused) {
  auto m = sample();
  m.recipients.clear();
  EXPECT_FALSE(build_mime(m));
}

TEST(Mime_MessageId, CarriesEventIdHookAndSenderDomain) {
  EXPECT_EQ(make_message_id("0190b1c2-1234", "disk alarm", "bot@example.com"),
            "<0190b1c2-1234.disk-alarm@example.com>");
}

TEST(Mime_Date, IsRfc5322InUtc) {
  EXPECT_EQ(format_rfc5322_date(std::chrono::system_clock::time_point(0s)),
            "Thu, 01 Jan 1970 00:00:00 +0000");
}

class Address_Valid : public ::testing::TestWithParam<const char*> {};
TEST_P(Address_Valid, IsAccepted) {
  EXPECT_EQ(address_problem(GetParam()), "") << GetParam();
}
INSTANTIATE_TEST_SUITE_P(Mime, Address_Valid,
                         ::testing::Values("a@b.c", "first.last+tag@example.co.uk", "x@localhost",
                                           "u@[127.0.0.1]", "o'neil@example.com", "a-b_c@x-y.example"));

class Address_Invalid : public ::testing::TestWithParam<const char*> {};
TEST_P(Address_Invalid, IsRefused) {
  EXPECT_NE(address_problem(GetParam()), "") << GetParam();
}
INSTANTIATE_TEST_SUITE_P(Mime, Address_Invalid,
                         ::testing::Values("", "plain", "@example.com", "me@", "a b@example.com",
                                           "a..b@example.com", ".a@example.com", "a@-bad.com", "a@bad..com",
                                           "a<b>@example.com", "a@example.com\r\n", "J\xC3\xB6rg@example.com",
                                           "a@exa_mple.com"));

}  // namespace
}  // namespace eventhooks::detail
