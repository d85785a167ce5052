#include "hooks/http_checks.hpp"

#include <algorithm>
#include <cmath>

#include "eventhooks/error.hpp"
#include "eventhooks/redact.hpp"

namespace eventhooks::detail {
namespace {

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

}  // namespace

void check_headers(const std::string& who, const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (!valid_header_name(name)) {
      throw ConfigError(who, "headers",
                        "'" + name +
                            "' is not a valid header name (only RFC 9110 token characters: no spaces, "
                            "colons or line breaks)");
    }
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      throw ConfigError(who, "headers." + name, "must not contain a line break (header injection refused)");
    }
  }
}

void check_path_segment(const std::string& who, const char* key, const std::string& value) {
  if (value.empty()) throw ConfigError(who, key, "missing");
  if (value.find_first_of("/?#\r\n \t") != std::string::npos) {
    throw ConfigError(who, key, "must not contain '/', '?', '#', spaces or line breaks");
  }
}

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

void require_http_url(const std::string& who, const char* key, const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    throw ConfigError(who, key, "must be an http:// or https:// URL, got '" + redact_url(url) + "'");
  }
  if (url.find_first_of("\r\n \t") != std::string::npos) {
    throw ConfigError(who, key, "must not contain spaces or line breaks");
  }
}

std::string redact_url_path(const std::string& url) {
  const auto scheme = url.find("://");
  const std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  const auto path = url.find_first_of("/?#", authority);
  if (path == std::string::npos) return redact_url(url);
  const auto path_end = std::min(url.find_first_of("?#", path), url.size());
  auto last = url.rfind('/', path_end - 1);
  if (last == std::string::npos || last < path) last = path;
  return redact_url(url.substr(0, last + 1) + "***" + url.substr(path_end));
}

void add_json_body_headers(HttpRequest& request, const Event& event) {
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("webhook-id", event.id);
}

HttpRequest json_post(std::string url, std::string redacted_url, const Event& event,
                      const nlohmann::ordered_json& body) {
  HttpRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.redacted_url = std::move(redacted_url);
  add_json_body_headers(request, event);
  request.body = dump_json(body);
  return request;
}

std::string dump_json(const nlohmann::ordered_json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<nlohmann::json> json_object_of(const HttpResponse& response) {
  auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::optional<std::chrono::seconds> seconds_of(const nlohmann::json* value) {
  if (value == nullptr || !value->is_number()) return std::nullopt;
  const double s = value->get<double>();
  if (!(s >= 0) || s > 1e9) return std::nullopt;
  return std::chrono::seconds(static_cast<long long>(std::ceil(s)));
}

namespace {

const nlohmann::json* at_pointer(const nlohmann::json& object, const char* pointer) {
  if (pointer == nullptr) return nullptr;
  const nlohmann::json::json_pointer p(pointer);
  return object.contains(p) ? &object.at(p) : nullptr;
}

}  // namespace

Result<Receipt> read_json_answer(const HttpRequest& request, Result<HttpResponse> performed,
                                 const char* retry_after_at, const char* id_at) {
  const std::optional<nlohmann::json> answer =
      performed ? json_object_of(performed.value()) : std::optional<nlohmann::json>();
  auto checked = check_http_status(request, std::move(performed));
  if (!checked) {
    Error e = std::move(checked).error();
    if (e.status == 429 && !e.retry_after && answer)
      e.retry_after = seconds_of(at_pointer(*answer, retry_after_at));
    return e;
  }
  const HttpResponse& r = checked.value();
  Receipt receipt;
  receipt.status = r.status;
  receipt.detail = "HTTP " + std::to_string(r.status);
  if (const auto* id = answer ? at_pointer(*answer, id_at) : nullptr) {
    receipt.id = id->is_string() ? id->get<std::string>() : id->dump();
  } else if (const auto* request_id = r.header("x-request-id")) {
    receipt.id = *request_id;
  }
  return receipt;
}

}  // namespace eventhooks::detail
