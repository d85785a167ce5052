// MIME building for the email hooks (src/transport/mime.hpp): subject, display names, addresses, bodies.
// Checks, for whatever build_mime() accepts:
//  - every line ends in CRLF (no bare CR or LF), no line is longer than 998 characters (RFC 5322 §2.1.1);
//  - the header block holds exactly the headers build_mime() writes, each once, and every other header
//    line is a folded continuation (starts with a space): nothing a subject or name holds can add a header;
//  - quoted-printable bodies decode back to the text (line ends as CRLF), lines at most 76 characters;
//  - encode_header_text() decodes back to its input, every encoded word at most 75 characters;
//  - make_message_id() gives a value build_mime() accepts.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "transport/mime.hpp"

namespace {

using eventhooks::fuzz::check;
namespace mime = eventhooks::detail;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> crlf_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = text.find("\r\n", pos);
    check(end != std::string_view::npos, "output does not end in CRLF");
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}

// Quoted-printable as produced by quoted_printable(): '=XX' (upper-case hex) and '=' soft breaks only.
std::string qp_decode(std::string_view qp) {
  std::string out;
  const auto lines = crlf_lines(qp);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string_view line = lines[n];
    check(line.size() <= 76, "quoted-printable line longer than 76 characters", line);
    bool soft = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      if (c == '=') {
        if (i + 1 == line.size()) {
          soft = true;
          break;
        }
        check(i + 2 < line.size() && hex(line[i + 1]) >= 0 && hex(line[i + 2]) >= 0, "bad '=' escape", line);
        out += static_cast<char>(hex(line[i + 1]) * 16 + hex(line[i + 2]));
        i += 2;
        continue;
      }
      check(c == '\t' || (c >= 0x20 && c < 0x7f), "unencoded byte in quoted-printable", line);
      check(!((c == ' ' || c == '\t') && i + 1 == line.size()), "unencoded trailing whitespace", line);
      out += static_cast<char>(c);
    }
    // No transport may have to dot-stuff or mangle a line: none starts with "." or "From ".
    check(line.empty() || line[0] != '.', "quoted-printable line starts with '.'", line);
    check(line.substr(0, 5) != "From ", "quoted-printable line starts with 'From '", line);
    if (!soft && n + 1 < lines.size()) out += "\r\n";
  }
  return out;
}

// Any input line end (LF, CRLF, CR) as CRLF: what quoted_printable() promises to keep. Its output always
// ends in CRLF, so a final line end of the text is not told apart from none.
std::string crlf_text(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (out.ends_with("\r\n")) out.resize(out.size() - 2);
  return out;
}

std::string base64_decode(std::string_view in) {
  static constexpr std::string_view kTable =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  check(in.size() % 4 == 0, "base64 length not a multiple of 4", in);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      n <<= 6;
      if (in[i + k] == '=') {
        ++pad;
        continue;
      }
      const auto v = kTable.find(in[i + k]);
      check(v != std::string_view::npos && pad == 0, "bad base64", in);
      n |= static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 255);
    if (pad < 2) out += static_cast<char>((n >> 8) & 255);
    if (pad < 1) out += static_cast<char>(n & 255);
  }
  return out;
}

void check_encoded_header_text(std::string_view text) {
  const std::string encoded = mime::encode_header_text(text);
  if (encoded == text) {
    for (unsigned char c : text)
      check(c >= 0x20 && c < 0x7f, "header text left unencoded with a control byte");
    return;
  }
  // "=?UTF-8?B?...?=" words joined by CRLF SP.
  std::string decoded;
  std::size_t pos = 0;
  while (true) {
    const auto end = encoded.find("\r\n ", pos);
    const std::string_view word = std::string_view(encoded).substr(pos, end - pos);
    check(word.size() <= 75, "encoded word longer than 75 characters", word);
    check(word.substr(0, 10) == "=?UTF-8?B?" && word.size() >= 12 && word.substr(word.size() - 2) == "?=",
          "malformed encoded word", word);
    decoded += base64_decode(word.substr(10, word.size() - 12));
    if (end == std::string::npos) break;
    pos = end + 3;
  }
  check(decoded == text, "encoded header text does not decode to its input", encoded);
}

void check_message(const mime::EmailMessage& message, const std::string& out) {
  const auto split = out.find("\r\n\r\n");
  check(split != std::string::npos, "no blank line after the headers");
  const auto header_lines = crlf_lines(std::string_view(out).substr(0, split + 2));
  std::map<std::string, int, std::less<>> seen;
  for (const auto line : header_lines) {
    check(line.size() <= 998, "header line longer than 998 characters", line.substr(0, 80));
    check(line.find_first_of("\r\n") == std::string_view::npos, "bare CR or LF in a header", line);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) continue;  // folded continuation
    const auto colon = line.find(": ");
    check(colon != std::string_view::npos && colon > 0, "header line is neither a header nor folded", line);
    ++seen[std::string(line.substr(0, colon))];
  }
  const std::map<std::string, int, std::less<>> expected = {
      {"Date", 1},         {"From", 1},         {"To", 1},
      {"Subject", 1},      {"Message-ID", 1},   {"Auto-Submitted", 1},
      {"MIME-Version", 1}, {"Content-Type", 1}, {"Content-Transfer-Encoding", message.html.empty() ? 1 : 0}};
  std::map<std::string, int, std::less<>> wanted;
  for (const auto& [name, count] : expected)
    if (count > 0) wanted[name] = count;
  check(seen == wanted, "unexpected header set (injection?)", std::string_view(out).substr(0, split));
  for (const auto line : crlf_lines(out)) {
    check(line.size() <= 998, "line longer than 998 characters", line.substr(0, 80));
    check(line.find_first_of("\r\n") == std::string_view::npos, "bare CR or LF in the message", line);
  }
  if (message.html.empty()) {
    check(qp_decode(std::string_view(out).substr(split + 4)) == crlf_text(message.text),
          "text body does not decode back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  mime::EmailMessage message;
  message.sender_name = in.ConsumeRandomLengthString(200);
  message.subject = in.ConsumeRandomLengthString(1200);
  message.sender = in.ConsumeRandomLengthString(300);
  const int recipients = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < recipients; ++i) message.recipients.push_back(in.ConsumeRandomLengthString(300));
  const std::string event_id = in.ConsumeRandomLengthString(100);
  const std::string hook_name = in.ConsumeRandomLengthString(60);
  message.message_id = mime::make_message_id(event_id, hook_name, message.sender);
  message.date = std::chrono::system_clock::time_point(std::chrono::seconds(
      in.ConsumeIntegralInRange<std::int64_t>(0, 7258118400)));  // to 2200 (ns fit in 64 bits)
  const bool html = in.ConsumeBool();
  message.text = in.ConsumeRandomLengthString(4000);
  if (html) message.html = in.ConsumeRemainingBytesAsString();

  check_encoded_header_text(message.subject);
  check_encoded_header_text(message.sender_name);
  const std::string qp = mime::quoted_printable(message.text);
  check(qp_decode(qp) == crlf_text(message.text), "quoted-printable does not decode back");

  for (const auto& address : message.recipients) {
    if (!mime::address_problem(address).empty()) continue;
    const std::string mailbox = mime::format_mailbox(message.sender_name, address);
    for (std::size_t i = mailbox.find_first_of("\r\n"); i != std::string::npos;
         i = mailbox.find_first_of("\r\n", i + 3)) {
      check(mailbox.compare(i, 3, "\r\n ") == 0, "a display name put a line break into a mailbox", mailbox);
    }
    check(mailbox.ends_with(message.sender_name.empty() ? address : " <" + address + ">"),
          "mailbox does not end with the address", mailbox);
  }

  auto built = mime::build_mime(message);
  if (!built) return 0;
  check(mime::address_problem(message.sender).empty(), "accepted a bad sender");
  check(mime::validate_header_value("Message-ID", message.message_id).ok(), "bad Message-ID accepted");
  check_message(message, built.value());
  return 0;
}
