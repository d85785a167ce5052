// FileHook: one JSON line per event, appended with a single write() on an O_APPEND descriptor so that lines
// from other processes appending to the same file do not interleave either.
#include "eventhooks/hooks/file_hook.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace eventhooks {
namespace {

Error io_error(const std::string& hook, const std::string& what, const std::string& path, int err) {
  // A full disk or a missing mount may come back; a permission error will not, but cannot be told apart
  // from the outside reliably, so let the retry policy bound it.
  return Error::of(ErrorCode::io, "FileHook '" + hook + "': " + what + " " + path + ": " + std::strerror(err),
                   err != EACCES && err != EPERM && err != EROFS);
}

}  // namespace

FileHook::FileHook(FileHookOptions options) : Hook(options.common), options_(std::move(options)) {
  if (options_.path.empty()) throw ConfigError("FileHook '" + name() + "'", "path", "missing");
}

std::string FileHook::describe() const {
  return "FileHook '" + name() + "' -> " + options_.path + (options_.fsync ? " (fsync)" : "");
}

std::string FileHook::render_line(const Event& event) {
  nlohmann::ordered_json line;
  line["id"] = event.id;
  line["name"] = event.name;
  line["realm"] = event.realm ? nlohmann::ordered_json(*event.realm) : nlohmann::ordered_json(nullptr);
  line["time"] = to_rfc3339(event.created_at);
  if (event.payload.is_json()) {
    line["data"] = event.payload.json();
  } else if (event.payload.is_text()) {
    line["data"] = event.payload.text();
  } else {
    line["data"] = nullptr;
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<Receipt> FileHook::send(const Event& event) {
  const std::string line = render_line(event);
  const std::filesystem::path path(options_.path);

  std::lock_guard lock(mutex_);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return io_error(name(), "cannot create the folder of", options_.path, ec.value());
  }
  const int fd = ::open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(name(), "cannot open", options_.path, errno);

  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return io_error(name(), "cannot write to", options_.path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (options_.fsync && ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error(name(), "cannot fsync", options_.path, err);
  }
  if (::close(fd) != 0) return io_error(name(), "cannot close", options_.path, errno);

  Receipt r;
  r.detail = "appended " + std::to_string(line.size()) + " bytes";
  return r;
}

}  // namespace eventhooks
