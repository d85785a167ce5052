// libcurl's process-wide initialisation, done once for every libcurl user (HTTP and SMTP). Thread-safe.
#pragma once

namespace eventhooks::detail {

// curl_global_init is not thread-safe and curl_easy_init calls it implicitly (racing) when nobody did: every
// transport calls this before its first curl_easy_init or curl_multi_init.
void curl_global_init_once();

}  // namespace eventhooks::detail
