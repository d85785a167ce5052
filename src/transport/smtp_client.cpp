#include "transport/smtp_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "eventhooks/logger.hpp"
#include "eventhooks/redact.hpp"
#include "transport/connect_guard.hpp"
#include "transport/curl_global.hpp"

namespace eventhooks::detail {
namespace {

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, up->data.size() - up->pos);
  std::memcpy(buffer, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

// The server's replies, kept to classify failures and to quote the server in errors and receipts.
struct Transcript {
  std::string last_reply;  // last complete reply line ("250 2.0.0 Ok: queued")
  std::string last_error;  // last 4xx/5xx line: libcurl says QUIT after a failure, and "221 Bye" is no reason
  std::string partial;
};

// libcurl hands every SMTP reply line to the header callback (never our own commands, so never the AUTH
// line), whatever the verbosity: the replies come without turning on CURLOPT_VERBOSE, whose message
// formatting cost a few microseconds per mail.
size_t capture_reply(char* data, size_t size, size_t count, void* user) {
  const std::size_t n = size * count;
  auto* t = static_cast<Transcript*>(user);
  t->partial.append(data, n);
  std::size_t nl;
  while ((nl = t->partial.find('\n')) != std::string::npos) {
    std::string line = t->partial.substr(0, nl);
    t->partial.erase(0, nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.empty()) continue;
    // "221 Bye" answers a QUIT. On a shared connection cache (send_async) libcurl may close another, idle
    // session in the middle of this exchange and hand its goodbye to this handle: never a decisive reply.
    if (line.rfind("221", 0) == 0) continue;
    if (line[0] == '4' || line[0] == '5') t->last_error = line;
    t->last_reply = std::move(line);
  }
  return n;
}

int reply_code(const std::string& line) {
  if (line.size() < 3) return 0;
  for (int i = 0; i < 3; ++i) {
    if (line[static_cast<std::size_t>(i)] < '0' || line[static_cast<std::size_t>(i)] > '9') return 0;
  }
  return std::stoi(line.substr(0, 3));
}

std::string printable(std::string text) {
  for (auto& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

const char* mode_name(SmtpMode mode) {
  switch (mode) {
    case SmtpMode::plain: return "plain";
    case SmtpMode::starttls: return "STARTTLS";
    case SmtpMode::implicit: return "implicit TLS";
  }
  return "?";
}

}  // namespace

struct SmtpClient::Handle {
  CURL* curl = nullptr;
  curl_slist* recipients = nullptr;
  Transcript transcript;
  Upload upload;
  ConnectGuard guard;   // the session's connection is judged when libcurl opens it
  std::string from;     // "<sender>": libcurl keeps a copy, but only until the handle is reset
  std::string message;  // send_async(): the message lives here until the exchange ends
  ~Handle() {
    if (recipients) curl_slist_free_all(recipients);
    if (curl) curl_easy_cleanup(curl);
  }
};

SmtpClient::SmtpClient(SmtpClientOptions options) : options_(std::move(options)) {
  curl_global_init_once();
  std::string host = options_.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  url_ = std::string(options_.mode == SmtpMode::implicit ? "smtps://" : "smtp://") + host + ":" +
         std::to_string(options_.port);
}

SmtpClient::~SmtpClient() = default;

std::string SmtpClient::describe() const {
  return url_ + " (" + mode_name(options_.mode) + ")";
}

std::unique_ptr<SmtpClient::Handle> SmtpClient::borrow() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  if (!h->curl) return nullptr;
  CURL* c = h->curl;
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeouts.connect.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeouts.total.count()));
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &h->upload);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &capture_reply);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &h->transcript);
  h->guard.policy = &options_.network;
  guard_connections(c, &h->guard);
  if (options_.mode == SmtpMode::plain) {
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
  } else {
    // CURLUSESSL_ALL: if the server does not offer STARTTLS the transfer fails before AUTH or MAIL;
    // credentials and mail never travel in plain text.
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!options_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.tls.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.tls.verify ? 2L : 0L);
    if (!options_.tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.tls.ca_file.c_str());
    if (!options_.tls.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, options_.tls.cert_file.c_str());
    if (!options_.tls.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, options_.tls.key_file.c_str());
  }
  return h;
}

void SmtpClient::give_back(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(handle));
}

bool SmtpClient::prepare(Handle& h, const std::vector<std::string>& recipients) const {
  CURL* c = h.curl;
  if (h.recipients) {
    curl_slist_free_all(h.recipients);
    h.recipients = nullptr;
  }
  for (const auto& r : recipients) {
    const std::string bracketed = "<" + r + ">";
    curl_slist* next = curl_slist_append(h.recipients, bracketed.c_str());
    if (!next) return false;
    h.recipients = next;
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, h.from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, h.recipients);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(h.upload.data.size()));
  h.transcript = Transcript{};
  h.guard.reset();
  return true;
}

Result<Receipt> SmtpClient::send(const std::string& sender, const std::vector<std::string>& recipients,
                                 std::string_view message) {
  auto h = borrow();
  if (!h) return Error::permanent(ErrorCode::internal, "curl_easy_init failed");
  h->from = "<" + sender + ">";
  h->upload = Upload{message, 0};
  if (!prepare(*h, recipients)) {
    give_back(std::move(h));
    return Error::permanent(ErrorCode::internal, "out of memory building the recipient list");
  }
  const CURLcode rc = curl_easy_perform(h->curl);
  auto result = conclude(*h, rc, recipients.size());
  give_back(std::move(h));
  return result;
}

// One send_async() exchange on the client's loop.
class SmtpClient::Transfer final : public CurlTransfer {
 public:
  Transfer(SmtpClient& client, std::unique_ptr<Handle> h, std::size_t recipients,
           std::function<void(Result<Receipt>)> done)
      : CurlTransfer(h->curl),
        client_(client),
        h_(std::move(h)),
        recipients_(recipients),
        done_(std::move(done)) {}

  void finished(CURLcode rc) override {
    auto result = client_.conclude(*h_, rc, recipients_);
    h_->message.clear();
    client_.give_back(std::move(h_));
    done_(std::move(result));
  }

  void cancelled() override {
    h_->curl = nullptr;  // the loop has cleaned it up
    done_(Error::transient(ErrorCode::internal, "SMTP send cancelled: the client was destroyed first"));
  }

 private:
  SmtpClient& client_;
  std::unique_ptr<Handle> h_;
  std::size_t recipients_;
  std::function<void(Result<Receipt>)> done_;
};

void SmtpClient::send_async(const std::string& sender, const std::vector<std::string>& recipients,
                            std::string message, std::function<void(Result<Receipt>)> done) {
  auto h = borrow();
  if (!h) {
    done(Error::permanent(ErrorCode::internal, "curl_easy_init failed"));
    return;
  }
  h->from = "<" + sender + ">";
  h->message = std::move(message);
  h->upload = Upload{h->message, 0};
  if (!prepare(*h, recipients)) {
    give_back(std::move(h));
    done(Error::permanent(ErrorCode::internal, "out of memory building the recipient list"));
    return;
  }
  loops_.submit(std::make_unique<Transfer>(*this, std::move(h), recipients.size(), std::move(done)));
}

Result<Receipt> SmtpClient::conclude(Handle& h, CURLcode rc, std::size_t recipients) const {
  const std::string& decisive = (rc != CURLE_OK && !h.transcript.last_error.empty())
                                    ? h.transcript.last_error
                                    : h.transcript.last_reply;
  const std::string reply = scrub(printable(decisive), options_.password);
  const int code = reply_code(decisive);
  const std::string where = describe();

  auto fail = [&](ErrorCode ec, std::string text, bool retryable) -> Result<Receipt> {
    Error e = Error::of(ec, std::move(text), retryable);
    if (code > 0) e.status = code;
    return e;
  };

  Result<Receipt> result = [&]() -> Result<Receipt> {
    if (rc != CURLE_OK) {
      if (auto refused = h.guard.forbidden("SMTP " + where)) return *std::move(refused);
    }
    switch (rc) {
      case CURLE_OK:
        if (code != 250) {
          return fail(ErrorCode::protocol, "SMTP server " + where + " ended DATA with: " + reply, false);
        }
        return Receipt{code, {}, reply};
      case CURLE_COULDNT_RESOLVE_HOST:
        return fail(ErrorCode::dns, "cannot resolve SMTP host '" + options_.host + "'", true);
      case CURLE_COULDNT_CONNECT: return fail(ErrorCode::connect, "cannot connect to " + where, true);
      case CURLE_OPERATION_TIMEDOUT:
        return fail(ErrorCode::timeout,
                    "SMTP exchange with " + where + " timed out (connect " +
                        std::to_string(options_.timeouts.connect.count()) + " ms, total " +
                        std::to_string(options_.timeouts.total.count()) + " ms)" +
                        (reply.empty() ? std::string() : "; last reply: " + reply),
                    true);
      case CURLE_LOGIN_DENIED:
        return fail(ErrorCode::auth,
                    "SMTP server " + where + " rejected the credentials" +
                        (reply.empty() ? std::string() : ": " + reply),
                    false);
      case CURLE_USE_SSL_FAILED:
        return fail(ErrorCode::protocol,
                    "SMTP server " + where +
                        " does not offer STARTTLS; refusing to send credentials or mail in plain text",
                    false);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CRL_BADFILE:
        return fail(ErrorCode::tls,
                    "TLS with " + where + " failed: " + curl_easy_strerror(rc) +
                        " (check ca_file, or the server's certificate)",
                    false);
      case CURLE_SSL_CONNECT_ERROR:
        return fail(ErrorCode::tls,
                    std::string("TLS handshake with ") + where + " failed: " + curl_easy_strerror(rc), true);
      default: break;
    }
    // The server answered with an error reply somewhere in the exchange: its code decides.
    if (code >= 400 && code < 500) {
      return fail(ErrorCode::unavailable, "SMTP server " + where + " temporarily refused: " + reply, true);
    }
    if (code == 530 || code == 534 || code == 535 || code == 538) {
      return fail(ErrorCode::auth, "SMTP server " + where + " refused authentication: " + reply, false);
    }
    if (code >= 500) return fail(ErrorCode::rejected, "SMTP server " + where + " refused: " + reply, false);
    if (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
      return fail(ErrorCode::connect, "connection to " + where + " lost: " + curl_easy_strerror(rc), true);
    }
    return fail(ErrorCode::protocol,
                "SMTP exchange with " + where + " failed: " + curl_easy_strerror(rc) +
                    (reply.empty() ? std::string() : "; last reply: " + reply),
                false);
  }();

  // The handle (and the session libcurl keeps in it) goes back to the pool even after a failure: libcurl
  // closes a connection it cannot trust and opens a new one on the next send.
  curl_easy_setopt(h.curl, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(h.curl, CURLOPT_MAIL_FROM, nullptr);
  if (result) {
    logger()->debug("smtp: {} accepted a message for {} recipient(s): {}", where, recipients, reply);
  }
  return result;
}

}  // namespace eventhooks::detail
