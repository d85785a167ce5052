// Builder for FileHook: `path` (created if missing) and `fsync`.
#include <memory>
#include <string>
#include <utility>

#include "config/builtin_types.hpp"
#include "eventhooks/hooks/file_hook.hpp"

namespace eventhooks::detail {
namespace {

HookPtr build_file_hook(HookCommon common, ConfigReader& keys) {
  FileHookOptions options{
      .common = std::move(common),
      .path = keys.required_string("path"),
      .fsync = keys.optional_bool("fsync", false),
  };
  if (options.path.empty()) keys.fail("path", "must not be empty");
  return std::make_shared<FileHook>(std::move(options));
}

}  // namespace

void register_file_hook_type(HookRegistry& registry) {
  registry.add("FileHook", build_file_hook);
}

}  // namespace eventhooks::detail
