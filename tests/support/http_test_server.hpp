// An in-process HTTP(S) server for the HTTP hook tests (cpp-httplib on an ephemeral loopback port). It
// records every request and answers with configurable responses. Thread-safe: tests read records while it
// serves.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace eventhooks::test {

struct RecordedRequest {
  std::string method;
  std::string path;                                          // without the query
  std::string target;                                        // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  int remote_port =
      0;  // the client's source port: the same port on two requests means one kept-alive connection

  // The first header with that name (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

struct CannedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  std::string content_type = "text/plain";
  // Wait this long before answering (interrupted when the server stops): a server that never answers.
  std::chrono::milliseconds delay{0};
};

// A throwaway PKI: a CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI.
struct TestCertificates {
  std::filesystem::path ca_file;           // PEM of the CA that signed the server's certificate
  std::filesystem::path cert_file;         // server certificate
  std::filesystem::path key_file;          // its key
  std::filesystem::path client_cert_file;  // a client certificate signed by the same CA (for mutual TLS)
  std::filesystem::path client_key_file;
  std::filesystem::path wrong_name_cert_file;  // signed by the same CA, but only for "other.invalid"
  std::filesystem::path wrong_name_key_file;
};
TestCertificates make_test_certificates(const std::filesystem::path& dir);

class HttpTestServer {
 public:
  // Plain HTTP.
  HttpTestServer();
  // HTTPS with this certificate and key.
  // HTTPS with this certificate and key; with `client_ca_file`, clients must show a certificate it signed.
  HttpTestServer(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                 const std::filesystem::path& client_ca_file = {});
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path (https for a TLS server).
  std::string url(const std::string& path = "/") const;

  // The response for every path without its own.
  void respond(CannedResponse response);
  // The response for one path (exact match).
  void respond(const std::string& path, CannedResponse response);
  // Answers every request by calling `answer` (a fake service that reads the request); replaces canned
  // responses. Called on the server's threads, outside its lock.
  void answer_with(std::function<CannedResponse(const RecordedRequest&)> answer);

  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // Waits (bounded) until at least n requests were recorded; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void start();

  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  CannedResponse default_response_;
  std::map<std::string, CannedResponse> responses_;
  std::function<CannedResponse(const RecordedRequest&)> answer_;
  std::vector<RecordedRequest> requests_;
};

// Runs the `standardwebhooks` npm package on a recorded request: true when it accepts the signature.
// `output` receives what the verifier printed.
// Sets (or, with nullptr, unsets) an environment variable for the life of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

bool verify_with_standardwebhooks(const std::string& secret, const RecordedRequest& request,
                                  std::string* output = nullptr);

}  // namespace eventhooks::test
