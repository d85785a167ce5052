// TLS options shared by every transport that speaks TLS (HTTPS, SMTP, AMQP). Value type.
#pragma once

#include <string>

namespace eventhooks {

struct TlsOptions {
  bool verify = true;     // verify the peer's certificate and host name; off only for tests you control
  std::string ca_file;    // PEM bundle to trust instead of the system store
  std::string cert_file;  // client certificate (PEM) for mutual TLS
  std::string key_file;   // its private key (PEM)
};

}  // namespace eventhooks
