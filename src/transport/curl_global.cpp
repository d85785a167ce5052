#include "transport/curl_global.hpp"

#include <curl/curl.h>

#include <mutex>

namespace eventhooks::detail {

void curl_global_init_once() {
  // Never paired with curl_global_cleanup: other libraries in the process may use libcurl after us.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace eventhooks::detail
