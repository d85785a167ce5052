// Builders for SimpleEmailHook and AwsSesEmailHook: the keys of the Python eventhooks library (host, port,
// credentials, sender, sender_name, recipients, tls / region) plus subject, html, timeouts, TLS files and the
// SES extras.
#include <memory>
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/email.hpp"
#include "transport/mime.hpp"
#include "transport/sigv4.hpp"

namespace eventhooks::detail {
namespace {

// Checked here as well as in the hooks' constructors so that the error names the file and line of the key.
void read_email_content(ConfigReader& keys, EmailContent& email) {
  email.sender = keys.required_string("sender");
  if (auto problem = address_problem(email.sender); !problem.empty())
    keys.fail("sender", "address " + problem);
  email.sender_name = keys.optional_string("sender_name");
  if (email.sender_name.find_first_of("\r\n") != std::string::npos) {
    keys.fail("sender_name", "must not contain a line break (header injection)");
  }
  if (!keys.has("recipients")) keys.fail("recipients", "missing: a list of addresses or \"a@x, b@y\"");
  email.recipients = keys.string_list("recipients");
  if (email.recipients.empty()) keys.fail("recipients", "at least one recipient is required");
  for (const auto& r : email.recipients) {
    if (auto problem = address_problem(r); !problem.empty()) {
      keys.fail("recipients", std::string("address '").append(r).append("' ").append(problem));
    }
  }
  email.subject = keys.optional_string("subject");
  if (email.subject.find_first_of("\r\n") != std::string::npos) {
    keys.fail("subject", "must not contain a line break (header injection)");
  }
  email.message = keys.optional_string("message");
  email.html = keys.optional_string("html");
}

SmtpSecurity read_security(ConfigReader& keys, int port) {
  const nlohmann::json* tls = keys.raw("tls");
  const SmtpSecurity tls_default = port == 465 ? SmtpSecurity::implicit : SmtpSecurity::starttls;
  if (tls == nullptr || tls->is_null()) return tls_default;
  if (tls->is_boolean()) return tls->get<bool>() ? tls_default : SmtpSecurity::plain;
  if (tls->is_string()) {
    const std::string v = tls->get<std::string>();
    if (v == "implicit" || v == "smtps") return SmtpSecurity::implicit;
    if (v == "starttls" || v == "true") return SmtpSecurity::starttls;
    if (v == "false" || v == "plain" || v == "none") return SmtpSecurity::plain;
  }
  keys.fail("tls", "must be true (STARTTLS), false (plain, no AUTH) or \"implicit\" (SMTPS)");
}

HookPtr build_simple_email(HookCommon common, ConfigReader& keys) {
  SimpleEmailOptions options;
  options.common = std::move(common);
  options.host = keys.optional_string("host");
  options.port = static_cast<int>(keys.optional_int("port", 0, 1, 65535));
  options.security = read_security(keys, options.port);
  options.credentials = keys.secret("credentials", false);
  if (options.security != SmtpSecurity::plain) {
    const bool from_file = keys.has("credentials_file");
    const char* key = from_file ? "credentials_file" : "credentials";
    if (options.credentials.empty()) {
      keys.fail(key,
                "missing: \"user:password\" is required with TLS (use tls: false for a relay without AUTH)");
    }
    const auto colon = options.credentials.find(':');
    if (colon == std::string::npos || colon == 0) keys.fail(key, "expected \"user:password\"");
  }
  read_email_content(keys, options.email);
  options.timeouts = keys.timeouts(SimpleEmailOptions{}.timeouts);
  options.tls = keys.tls();
  options.network = keys.network();
  return std::make_shared<SimpleEmailHook>(std::move(options));
}

HookPtr build_ses_email(HookCommon common, ConfigReader& keys) {
  AwsSesOptions options;
  options.common = std::move(common);
  read_email_content(keys, options.email);
  options.region = keys.optional_string("region");
  if (aws_region(options.region).empty()) {
    keys.fail("region", "missing: set `region`, or AWS_REGION / AWS_DEFAULT_REGION in the environment");
  }
  options.endpoint_url = keys.url("endpoint_url", false);
  options.configuration_set = keys.optional_string("configuration_set");
  options.profile = keys.optional_string("profile");
  options.http = read_http_options(keys);
  return std::make_shared<AwsSesEmailHook>(std::move(options));
}

}  // namespace

void register_email_hook_types(HookRegistry& registry) {
  registry.add("SimpleEmailHook", build_simple_email);
  registry.add("AwsSesEmailHook", build_ses_email);
}

}  // namespace eventhooks::detail
