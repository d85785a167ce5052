#include "transport/mime.hpp"

#include <array>
#include <cstdint>
#include <ctime>

namespace eventhooks::detail {
namespace {

constexpr std::string_view kHex = "0123456789ABCDEF";

bool is_atext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string base64(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += kTable[n & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t n =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

bool is_plain_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  // Text that looks like an encoded word would be decoded by readers: encode it so it reads as written.
  return text.find("=?") == std::string_view::npos;
}

// True when folding at spaces keeps every line of the header within RFC 5322's 998 characters: no run
// without a space is longer than this (the header name and ": " included).
bool foldable_at_spaces(std::string_view value) {
  constexpr std::size_t kLongestRun = 900;
  std::size_t run = 0;
  for (char c : value) {
    run = c == ' ' ? 0 : run + 1;
    if (run > kLongestRun) return false;
  }
  return true;
}

// Folds an unstructured ASCII header at spaces so lines stay under 78 characters where possible.
std::string fold_ascii(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ": ";
  std::size_t column = out.size();
  std::size_t pos = 0;
  bool first = true;
  while (pos < value.size()) {
    std::size_t space = value.find(' ', pos + 1);
    if (space == std::string_view::npos) space = value.size();
    std::string_view word = value.substr(pos, space - pos);  // includes its leading space, except the first
    if (!first && column + word.size() > 78 && word.size() > 1 && word[0] == ' ') {
      out += "\r\n";
      column = 0;
    }
    out += word;
    column += word.size();
    pos = space;
    first = false;
  }
  out += "\r\n";
  return out;
}

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex64(std::uint64_t v) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

// "has a character not allowed in its domain: '!'" (built with +=: GCC 12 misreads `"..." + std::string`
// as an out-of-bounds copy).
std::string char_not_allowed(std::string_view where, unsigned char c) {
  std::string out = "has a character not allowed in ";
  out += where;
  out += ": '";
  out += static_cast<char>(c);
  out += '\'';
  return out;
}

}  // namespace

std::string address_problem(std::string_view address) {
  if (address.empty()) return "is empty";
  for (unsigned char c : address) {
    if (c == '\r' || c == '\n') return "contains a line break";
    if (c < 0x20 || c == 0x7f) return "contains a control character";
    if (c == ' ' || c == '\t') return "contains a space";
    if (c >= 0x80) return "contains a non-ASCII character (internationalised addresses are not supported)";
  }
  if (address.size() > 254) return "is longer than 254 characters";
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return "has no '@'";
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return "has nothing before '@'";
  if (local.size() > 64) return "has a local part longer than 64 characters";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return "has a misplaced '.' in its local part";
  }
  for (unsigned char c : local) {
    if (c != '.' && !is_atext(c)) return char_not_allowed("its local part", c);
  }
  if (domain.empty()) return "has nothing after '@'";
  if (domain.front() == '[') {
    if (domain.back() != ']' || domain.size() < 3) return "has a malformed address literal";
    for (unsigned char c : domain.substr(1, domain.size() - 2)) {
      if (!is_alnum(c) && c != '.' && c != ':') return "has a malformed address literal";
    }
    return {};
  }
  if (domain.size() > 253) return "has a domain longer than 253 characters";
  std::size_t start = 0;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return "has an empty or over-long label in its domain";
    if (label.front() == '-' || label.back() == '-') return "has a domain label starting or ending with '-'";
    for (unsigned char c : label) {
      if (!is_alnum(c) && c != '-') return char_not_allowed("its domain", c);
    }
    start = dot + 1;
  }
  return {};
}

Result<void> validate_address(std::string_view what, std::string_view address) {
  std::string problem = address_problem(address);
  if (problem.empty()) return {};
  std::string shown;
  for (char c : address) {
    if (c == '\r')
      shown += "\\r";
    else if (c == '\n')
      shown += "\\n";
    else
      shown += c;
  }
  return Error::permanent(ErrorCode::invalid_input,
                          std::string(what) + " address '" + shown + "' " + problem);
}

Result<void> validate_header_value(std::string_view what, std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n') {
      return Error::permanent(
          ErrorCode::invalid_input,
          std::string(what) + " contains a line break (CR or LF), refused to prevent header injection");
    }
    if (c == '\0')
      return Error::permanent(ErrorCode::invalid_input, std::string(what) + " contains a NUL character");
  }
  return {};
}

std::string encode_header_text(std::string_view text) {
  if (is_plain_ascii(text) && foldable_at_spaces(text)) return std::string(text);
  // 45 bytes of UTF-8 give 60 base64 characters, so each encoded word stays within 75 (RFC 2047 §2).
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.size(), pos + 45);
    // Never split a UTF-8 sequence across words: back up to the start of a character.
    while (end < text.size() && end > pos && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (end == pos) end = std::min(text.size(), pos + 45);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    out += base64(text.substr(pos, end - pos));
    out += "?=";
    pos = end;
  }
  return out;
}

std::string format_mailbox(std::string_view name, std::string_view address) {
  if (name.empty()) return std::string(address);
  std::string shown;
  if (!is_plain_ascii(name)) {
    shown = encode_header_text(name);
  } else if (name.find_first_of("()<>[]:;@\\,.\"") != std::string_view::npos) {
    shown = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') shown += '\\';
      shown += c;
    }
    shown += '"';
  } else {
    shown = std::string(name);
  }
  return shown + " <" + std::string(address) + ">";
}

std::string format_rfc5322_date(std::chrono::system_clock::time_point time) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

namespace {

// Whether line[k] goes into quoted-printable as itself when it does not start a physical line: printable
// ASCII except '=', and a space or tab unless it ends the line (trailing whitespace must be encoded).
bool plain_mid_line(std::string_view line, std::size_t k) {
  const auto c = static_cast<unsigned char>(line[k]);
  if (c == ' ' || c == '\t') return k + 1 < line.size();
  return c > 0x20 && c < 0x7f && c != '=';
}

}  // namespace

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 4);
  std::size_t column = 0;
  auto emit = [&](std::string_view piece) {
    // Soft line break: keep physical lines at most 76 characters, "=" included.
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  };
  std::size_t i = 0;
  while (i <= text.size()) {
    // One logical line.
    // (A plain loop: string_view::find_first_of calls memchr on the set once per byte.)
    std::size_t end = i;
    while (end < text.size() && text[end] != '\r' && text[end] != '\n') ++end;
    const std::string_view line = text.substr(i, end - i);
    for (std::size_t k = 0; k < line.size(); ++k) {
      if (column > 0 && column < 75) {
        // Mid-line, characters that need no encoding go in as one run, up to the soft-break column: the
        // same output as one at a time (no line start, no break inside the run), with one append per run.
        const std::size_t limit = std::min(line.size(), k + (75 - column));
        std::size_t j = k;
        while (j < limit && plain_mid_line(line, j)) ++j;
        if (j > k) {
          out.append(line.data() + k, j - k);
          column += j - k;
          k = j - 1;
          continue;
        }
      }
      const auto c = static_cast<unsigned char>(line[k]);
      const bool last = k + 1 == line.size();
      char encoded[4] = {'=', kHex[c >> 4], kHex[c & 15], '\0'};
      bool encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') || ((c == ' ' || c == '\t') && last);
      // Would the character land at the start of a physical line?
      const bool at_start = column == 0 || column + 1 > 75;
      if (!encode && at_start && (c == '.' || (c == 'F' && line.substr(k, 5) == "From "))) encode = true;
      if (encode) {
        emit(std::string_view(encoded, 3));
      } else {
        emit(std::string_view(reinterpret_cast<const char*>(&line[k]), 1));
      }
    }
    if (end >= text.size()) break;
    out += "\r\n";
    column = 0;
    i = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
    if (i == text.size()) break;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string make_message_id(std::string_view event_id, std::string_view hook_name, std::string_view sender) {
  std::string domain;
  const auto at = sender.rfind('@');
  if (at != std::string_view::npos && address_problem(sender).empty())
    domain = std::string(sender.substr(at + 1));
  if (domain.empty()) domain = "eventhooks.invalid";
  std::string hook;
  for (unsigned char c : hook_name) hook += is_alnum(c) || c == '-' || c == '_' ? static_cast<char>(c) : '-';
  if (hook.size() > 40) hook = hook.substr(0, 40);
  std::string id;
  for (unsigned char c : event_id) {
    if (is_atext(c) || c == '.') id += static_cast<char>(c);
  }
  return "<" + id + "." + hook + "@" + domain + ">";
}

Result<std::string> build_mime(const EmailMessage& message) {
  if (auto r = validate_address("sender", message.sender); !r) return r.error();
  if (message.recipients.empty()) return Error::permanent(ErrorCode::invalid_input, "no recipients");
  for (const auto& rcpt : message.recipients) {
    if (auto r = validate_address("recipient", rcpt); !r) return r.error();
  }
  if (auto r = validate_header_value("sender_name", message.sender_name); !r) return r.error();
  if (auto r = validate_header_value("subject", message.subject); !r) return r.error();
  if (auto r = validate_header_value("Message-ID", message.message_id); !r) return r.error();

  std::string out;
  out.reserve(message.text.size() + message.html.size() + 1024);
  out += "Date: " + format_rfc5322_date(message.date) + "\r\n";
  out += "From: " + format_mailbox(message.sender_name, message.sender) + "\r\n";
  std::string to = "To: ";
  std::size_t column = to.size();
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    if (i > 0) {
      to += ',';
      if (column + message.recipients[i].size() + 2 > 78) {
        to += "\r\n";
        column = 0;
      }
      to += ' ';
      column += 2;
    }
    to += message.recipients[i];
    column += message.recipients[i].size();
  }
  out += to + "\r\n";
  // A word too long to fold at spaces goes out as encoded words, which split anywhere.
  if (is_plain_ascii(message.subject) && foldable_at_spaces(message.subject)) {
    out += fold_ascii("Subject", message.subject);
  } else {
    out += "Subject: " + encode_header_text(message.subject) + "\r\n";
  }
  out += "Message-ID: " + message.message_id + "\r\n";
  // RFC 3834: tells auto-responders (vacation replies) not to answer a machine.
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  constexpr std::string_view kText =
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n";
  if (message.html.empty()) {
    out += kText;
    out += "\r\n";
    out += quoted_printable(message.text);
    return out;
  }
  // "=_" never occurs in quoted-printable output ('=' is always followed by hex or CRLF), so the boundary
  // cannot collide with either part, whatever the bodies contain.
  const std::string boundary = "=_eventhooks_" + hex64(fnv1a(message.message_id));
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "--" + boundary + "\r\n";
  out += kText;
  out += "\r\n";
  out += quoted_printable(message.text);
  out += "--" + boundary + "\r\n";
  out += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(message.html);
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace eventhooks::detail
