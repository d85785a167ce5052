#include "http_test_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "test_env.hpp"

namespace eventhooks::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void run_or_throw(const std::string& command) {
  std::string output;
  if (run_command(command, &output) != 0)
    throw std::runtime_error("command failed: " + command + "\n" + output);
}

}  // namespace

std::string RecordedRequest::header(std::string_view name) const {
  const std::string n = lower(std::string(name));
  for (const auto& [k, v] : headers) {
    if (k == n) return v;
  }
  return {};
}

bool RecordedRequest::has_header(std::string_view name) const {
  const std::string n = lower(std::string(name));
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == n; });
}

TestCertificates make_test_certificates(const std::filesystem::path& dir) {
  // EC keys: generating them takes milliseconds, RSA would slow every TLS test down.
  TestCertificates c{dir / "ca.pem",     dir / "server.pem", dir / "server.key", dir / "client.pem",
                     dir / "client.key", dir / "wrong.pem",  dir / "wrong.key"};
  const std::string d = dir.string();
  {
    std::ofstream ext(dir / "server.ext");
    ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
           "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
    std::ofstream wext(dir / "wrong.ext");
    wext << "subjectAltName=DNS:other.invalid\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::ofstream cext(dir / "client.ext");
    cext << "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
  }
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  run_or_throw("openssl req -x509 " + ec + " -keyout '" + d + "/ca.key' -out '" + d +
               "/ca.pem' -days 2 -subj '/CN=eventhooks test CA' -addext basicConstraints=critical,CA:TRUE "
               "-addext keyUsage=critical,keyCertSign,cRLSign");
  for (const std::string who : {"server", "client", "wrong"}) {
    run_or_throw("openssl req " + ec + " -keyout '" + d + "/" + who + ".key' -out '" + d + "/" + who +
                 ".csr' -subj '/CN=" +
                 (who == "server"  ? "localhost"
                  : who == "wrong" ? "other.invalid"
                                   : "eventhooks test client") +
                 "'");
    run_or_throw("openssl x509 -req -in '" + d + "/" + who + ".csr' -CA '" + d + "/ca.pem' -CAkey '" + d +
                 "/ca.key' -CAcreateserial -out '" + d + "/" + who + ".pem' -days 2 -extfile '" + d + "/" +
                 who + ".ext'");
  }
  return c;
}

HttpTestServer::HttpTestServer() : server_(std::make_unique<httplib::Server>()) {
  start();
}

HttpTestServer::HttpTestServer(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                               const std::filesystem::path& client_ca_file)
    : server_(std::make_unique<httplib::SSLServer>(
          cert_file.c_str(), key_file.c_str(), client_ca_file.empty() ? nullptr : client_ca_file.c_str())),
      tls_(true) {
  if (!server_->is_valid()) throw std::runtime_error("cannot load the test server's certificate or key");
  start();
}

void HttpTestServer::start() {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    RecordedRequest r;
    r.method = req.method;
    r.path = req.path;
    r.target = req.target;
    r.body = req.body;
    r.remote_port = req.remote_port;
    for (const auto& [k, v] : req.headers) {
      // cpp-httplib adds these itself; they were not sent by the client.
      if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") continue;
      r.headers.emplace_back(lower(k), v);
    }
    CannedResponse response;
    std::function<CannedResponse(const RecordedRequest&)> answer;
    {
      std::lock_guard lock(mutex_);
      answer = answer_;
    }
    if (answer) response = answer(r);
    {
      std::unique_lock lock(mutex_);
      auto it = responses_.find(req.path);
      if (!answer) response = it != responses_.end() ? it->second : default_response_;
      requests_.push_back(std::move(r));
      changed_.notify_all();
      if (response.delay.count() > 0) {
        changed_.wait_for(lock, response.delay, [this] { return stopping_; });
      }
    }
    res.status = response.status;
    for (const auto& [k, v] : response.headers) res.set_header(k, v);
    res.set_content(response.body, response.content_type.c_str());
  };
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    const std::string m = method;
    if (m == "GET") server_->Get(".*", handler);
    if (m == "POST") server_->Post(".*", handler);
    if (m == "PUT") server_->Put(".*", handler);
    if (m == "PATCH") server_->Patch(".*", handler);
    if (m == "DELETE") server_->Delete(".*", handler);
  }
  // Enough workers that kept-alive idle client connections (each holds a worker) never starve new ones, and
  // no cap on requests per connection, so a test can prove reuse across many requests.
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_->set_keep_alive_max_count(100000);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("test HTTP server cannot bind a loopback port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // Ready once the accept loop runs; bounded so a broken server fails the test instead of hanging it.
  for (int i = 0; i < 500 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!server_->is_running()) throw std::runtime_error("test HTTP server did not start");
}

HttpTestServer::~HttpTestServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;  // wakes handlers that are delaying their answer
  }
  changed_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string HttpTestServer::url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpTestServer::respond(CannedResponse response) {
  std::lock_guard lock(mutex_);
  default_response_ = std::move(response);
}

void HttpTestServer::respond(const std::string& path, CannedResponse response) {
  std::lock_guard lock(mutex_);
  responses_[path] = std::move(response);
}

void HttpTestServer::answer_with(std::function<CannedResponse(const RecordedRequest&)> answer) {
  std::lock_guard lock(mutex_);
  answer_ = std::move(answer);
}

std::vector<RecordedRequest> HttpTestServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t HttpTestServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool HttpTestServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

ScopedEnv::ScopedEnv(const char* name, const char* value) : name_(name) {
  if (const char* old = std::getenv(name)) old_ = old;
  if (value) {
    ::setenv(name, value, 1);
  } else {
    ::unsetenv(name);
  }
}

ScopedEnv::~ScopedEnv() {
  if (old_) {
    ::setenv(name_.c_str(), old_->c_str(), 1);
  } else {
    ::unsetenv(name_.c_str());
  }
}

bool verify_with_standardwebhooks(const std::string& secret, const RecordedRequest& request,
                                  std::string* output) {
  TempDir dir;
  nlohmann::json doc;
  doc["secret"] = secret;
  doc["body"] = request.body;
  doc["headers"] = nlohmann::json::object();
  for (const auto& [k, v] : request.headers) doc["headers"][k] = v;
  {
    std::ofstream f(dir / "request.json");
    f << doc.dump();
  }
  const std::string command = "EVENTHOOKS_NODE_MODULES='" + std::string(EVENTHOOKS_NODE_MODULES) +
                              "' node '" + std::string(EVENTHOOKS_SOURCE_DIR) +
                              "/tests/servers/verify-signature.js' '" + (dir / "request.json").string() + "'";
  std::string out;
  const int rc = run_command(command, &out);
  if (output) *output = out;
  return rc == 0 && out.find("verified") == 0;
}

}  // namespace eventhooks::test
