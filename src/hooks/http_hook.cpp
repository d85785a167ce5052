// HttpHook: renders through the hook type, sends through a (possibly shared) HttpClient, and reads the answer
// through the type's interpret(). Asynchronous answers may arrive after the hook is gone: see Guard.
#include "eventhooks/hooks/http_hook.hpp"

#include <mutex>
#include <utility>

namespace eventhooks {
namespace {

std::shared_ptr<HttpClient> client_for(const HttpHookOptions& http) {
  if (http.client) return http.client;
  HttpOptions options;
  options.timeouts = http.timeouts;
  options.tls = http.tls;
  options.follow_redirects = http.follow_redirects;
  options.network = http.network;
  return std::make_shared<HttpClient>(std::move(options));
}

Receipt receipt_of(const HttpResponse& response) {
  Receipt r;
  r.status = response.status;
  r.detail = "HTTP " + std::to_string(response.status);
  if (const auto* id = response.header("x-request-id")) r.id = *id;
  return r;
}

// HTTP's own reading of an answer: the status rules, no hook involved.
Result<Receipt> default_interpretation(const HttpRequest& request, Result<HttpResponse> performed) {
  auto checked = check_http_status(request, std::move(performed));
  if (!checked) return checked.error();
  return receipt_of(checked.value());
}

}  // namespace

// Shared by the hook and every answer in flight. An answer reads it under the lock: while the hook lives,
// the hook's own interpret() runs (and the hook cannot finish its destructor meanwhile); once the hook is
// gone, HTTP's default reading does. A shared client keeps its requests running after the hook is
// destroyed; an own client cancels them when it is destroyed with the hook.
struct HttpHook::Guard {
  std::mutex mutex;
  const HttpHook* hook = nullptr;
};

HttpHook::HttpHook(HookCommon common, const HttpHookOptions& http)
    : Hook(std::move(common)), client_(client_for(http)), guard_(std::make_shared<Guard>()) {
  guard_->hook = this;
}

HttpHook::~HttpHook() {
  detach_answers();
}

void HttpHook::detach_answers() noexcept {
  const std::lock_guard lock(guard_->mutex);
  guard_->hook = nullptr;
}

Result<Receipt> HttpHook::interpret(const HttpRequest& request, Result<HttpResponse> performed) const {
  return default_interpretation(request, std::move(performed));
}

Result<Receipt> HttpHook::send(const Event& event) {
  auto request = render(event);
  if (!request) return request.error();
  return interpret(request.value(), client_->perform(request.value()));
}

void HttpHook::send_async(const Event& event, std::function<void(Result<Receipt>)> done) {
  auto request = render(event);
  if (!request) {
    done(request.error());
    return;
  }
  client_->perform_async(
      std::move(request).value(),
      [guard = guard_, done = std::move(done)](const HttpRequest& sent, Result<HttpResponse> performed) {
        Result<Receipt> read = [&]() -> Result<Receipt> {
          const std::lock_guard lock(guard->mutex);
          if (guard->hook != nullptr) return guard->hook->interpret(sent, std::move(performed));
          return default_interpretation(sent, std::move(performed));
        }();
        done(std::move(read));  // outside the lock: `done` may destroy the hook
      });
}

}  // namespace eventhooks
