#include <nlohmann/json.hpp>

#include "eventhooks/hooks/email.hpp"
#include "eventhooks/logger.hpp"
#include "eventhooks/redact.hpp"
#include "hooks/email_common.hpp"
#include "transport/mime.hpp"
#include "transport/sigv4.hpp"

namespace eventhooks {
namespace {

constexpr std::string_view kSendEmailPath = "/v2/email/outbound-emails";

// SES names its error in the x-amzn-ErrorType header ("MessageRejected:http://...") and/or the JSON body.
std::string ses_error_type(const HttpResponse& response, const nlohmann::json& body) {
  std::string type;
  if (const auto* h = response.header("x-amzn-errortype")) type = *h;
  if (type.empty() && body.is_object()) {
    for (const char* key : {"__type", "type", "code", "Code"}) {
      if (body.contains(key) && body[key].is_string()) {
        type = body[key].get<std::string>();
        break;
      }
    }
  }
  if (const auto colon = type.find(':'); colon != std::string::npos) type.resize(colon);
  if (const auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  return type;
}

std::string ses_error_message(const HttpResponse& response, const nlohmann::json& body) {
  std::string message;
  if (body.is_object()) {
    for (const char* key : {"message", "Message"}) {
      if (body.contains(key) && body[key].is_string()) {
        message = body[key].get<std::string>();
        break;
      }
    }
    if (body.contains("detail") && body["detail"].is_string()) {
      message += (message.empty() ? "" : " - ") + body["detail"].get<std::string>();
    }
  }
  if (message.empty()) message = response.body.substr(0, 300);
  for (auto& c : message) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return message;
}

}  // namespace

AwsSesEmailHook::AwsSesEmailHook(AwsSesOptions options)
    : HttpHook(options.common, options.http), options_(std::move(options)) {
  const std::string who = "hook '" + name() + "'";
  detail::check_email_content(name(), options_.email);
  region_ = detail::aws_region(options_.region);
  if (region_.empty()) {
    throw ConfigError(who, "region", "no AWS region (set region, AWS_REGION or AWS_DEFAULT_REGION)");
  }
  endpoint_ = detail::ses_endpoint(options_.endpoint_url, region_);
  if (!endpoint_.starts_with("https://") && !endpoint_.starts_with("http://")) {
    throw ConfigError(who, "endpoint_url", "'" + redact_url(endpoint_) + "' is not an http(s) URL");
  }
  if (!options_.access_key_id.empty() && options_.secret_access_key.empty()) {
    throw ConfigError(who, "secret_access_key", "required with access_key_id");
  }
}

AwsSesEmailHook::~AwsSesEmailHook() {
  detach_answers();  // interpret() reads this type's members
}

std::string AwsSesEmailHook::describe() const {
  return "AwsSesEmailHook '" + name() + "' -> " + redact_url(endpoint_) + " (" + region_ + "), from " +
         options_.email.sender + " to " + std::to_string(options_.email.recipients.size()) + " recipient(s)";
}

void AwsSesEmailHook::set_subject(std::string subject) {
  detail::check_subject(name(), subject);
  std::lock_guard lock(subject_mutex_);
  options_.email.subject = std::move(subject);
}

std::string AwsSesEmailHook::subject() const {
  std::lock_guard lock(subject_mutex_);
  return options_.email.subject.empty() ? name() : options_.email.subject;
}

Result<HttpRequest> AwsSesEmailHook::render(const Event& event,
                                            std::chrono::system_clock::time_point now) const {
  detail::AwsCredentials creds{options_.access_key_id, options_.secret_access_key, options_.session_token};
  if (creds.empty()) {
    // Looked up at each send, so rotated keys (session tokens) are picked up without a restart.
    auto found = detail::aws_credentials_from_environment(options_.profile);
    if (!found) {
      return Error::permanent(
          ErrorCode::config,
          "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in "
          "~/.aws/credentials");
    }
    creds = std::move(*found);
  }
  auto parts = detail::render_email_parts(name(), subject(), options_.email, event);
  if (!parts) return parts.error();
  const std::string& text = parts->text;
  if (text.empty()) {
    return Error::permanent(ErrorCode::invalid_input, "the event has no data: SES needs a message body");
  }
  nlohmann::ordered_json body;
  body["FromEmailAddress"] = detail::format_mailbox(options_.email.sender_name, options_.email.sender);
  body["Destination"]["ToAddresses"] = options_.email.recipients;
  auto& simple = body["Content"]["Simple"];
  simple["Subject"] = {{"Data", parts->subject}, {"Charset", "UTF-8"}};
  simple["Body"]["Text"] = {{"Data", text}, {"Charset", "UTF-8"}};
  if (!parts->html.empty()) {
    simple["Body"]["Html"] = {{"Data", parts->html}, {"Charset", "UTF-8"}};
  }
  // SES sets its own Message-ID; the event id travels in a header so a delivery can be traced and
  // deduplicated.
  simple["Headers"] =
      nlohmann::ordered_json::array({{{"Name", "X-Eventhooks-Event-Id"}, {"Value", event.id}}});
  if (!options_.configuration_set.empty()) body["ConfigurationSetName"] = options_.configuration_set;

  HttpRequest request;
  request.method = "POST";
  request.url = endpoint_ + std::string(kSendEmailPath);
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // never throws
  detail::SigV4Request to_sign{request.method, request.url, request.headers, request.body};
  auto signature = detail::sigv4_sign(to_sign, creds, region_, "ses", now);
  if (!signature) return signature.error();
  for (auto& h : signature->headers) request.headers.push_back(std::move(h));
  request.redacted_url = redact_url(request.url);
  return request;
}

Result<HttpRequest> AwsSesEmailHook::render(const Event& event) const {
  return render(event, std::chrono::system_clock::now());
}

Result<Receipt> AwsSesEmailHook::interpret(const HttpRequest& /*request*/,
                                           Result<HttpResponse> performed) const {
  if (!performed) return performed.error();
  const HttpResponse& r = performed.value();
  const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status >= 200 && r.status < 300) {
    if (body.is_object() && body.contains("MessageId") && body["MessageId"].is_string()) {
      const std::string id = body["MessageId"].get<std::string>();
      return Receipt{r.status, id, "SES MessageId " + id};
    }
    return Error::permanent(ErrorCode::protocol,
                            "SES answered HTTP " + std::to_string(r.status) + " without a MessageId",
                            r.status);
  }
  const std::string type = ses_error_type(r, body);
  std::string message = ses_error_message(r, body);
  message = scrub(std::move(message), options_.secret_access_key);
  Error e = Error::permanent(ErrorCode::rejected, {}, r.status);
  if (r.status == 429 || type == "TooManyRequestsException" || type == "Throttling" ||
      type == "ThrottlingException" || type == "LimitExceededException") {
    e.code = ErrorCode::throttled;
    e.retryable = true;
  } else if (r.status == 401 || r.status == 403 || type == "SignatureDoesNotMatch" ||
             type == "UnrecognizedClientException" || type == "InvalidClientTokenId" ||
             type == "AccessDeniedException" || type == "ExpiredTokenException") {
    e.code = ErrorCode::auth;
  } else if (r.status >= 500) {
    e.code = ErrorCode::unavailable;
    e.retryable = true;
  } else if (r.status == 408) {
    e.code = ErrorCode::timeout;
    e.retryable = true;
  }
  if (const auto* ra = r.header("retry-after")) {
    try {
      e.retry_after = std::chrono::seconds(std::stol(*ra));
    } catch (const std::exception&) {
      // An HTTP-date Retry-After is rare from SES; the retry policy's own backoff applies then.
    }
  }
  e.message = "SES SendEmail failed (HTTP " + std::to_string(r.status) + (type.empty() ? "" : " " + type) +
              "): " + message;
  return e;
}

}  // namespace eventhooks
