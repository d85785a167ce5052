#include "delivery/sqlite_api.hpp"

#include <dlfcn.h>

namespace eventhooks::detail {
namespace {

// The soname of SQLite 3, stable since 2004; the development symlink (libsqlite3.so) is not installed on
// machines that only run programs.
constexpr const char* kSqliteLibrary = "libsqlite3.so.0";

struct LoadedSqlite {
  SqliteApi api;
  std::string error;  // empty when api is complete
};

template <class Fn>
void resolve(void* library, const char* name, Fn& slot, std::string& error) {
  if (!error.empty()) return;
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) {
    error = std::string(kSqliteLibrary) + ": no symbol " + name + " (SQLite too old?)";
    return;
  }
  // POSIX guarantees that a dlsym result converts to the function pointer type it was exported as.
  slot = reinterpret_cast<Fn>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

LoadedSqlite load_sqlite() {
  LoadedSqlite out;
  // Never closed: outboxes may live until exit, and unloading SQLite would gain nothing.
  void* library = dlopen(kSqliteLibrary, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    out.error = why != nullptr ? why : std::string(kSqliteLibrary) + ": cannot be loaded";
    return out;
  }
  SqliteApi& a = out.api;
  std::string& e = out.error;
  resolve(library, "sqlite3_open_v2", a.open_v2, e);
  resolve(library, "sqlite3_close_v2", a.close_v2, e);
  resolve(library, "sqlite3_busy_timeout", a.busy_timeout, e);
  resolve(library, "sqlite3_db_readonly", a.db_readonly, e);
  resolve(library, "sqlite3_exec", a.exec, e);
  resolve(library, "sqlite3_free", a.free, e);
  resolve(library, "sqlite3_errmsg", a.errmsg, e);
  resolve(library, "sqlite3_errstr", a.errstr, e);
  resolve(library, "sqlite3_changes", a.changes, e);
  resolve(library, "sqlite3_prepare_v2", a.prepare_v2, e);
  resolve(library, "sqlite3_finalize", a.finalize, e);
  resolve(library, "sqlite3_reset", a.reset, e);
  resolve(library, "sqlite3_clear_bindings", a.clear_bindings, e);
  resolve(library, "sqlite3_bind_int64", a.bind_int64, e);
  resolve(library, "sqlite3_bind_text", a.bind_text, e);
  resolve(library, "sqlite3_bind_null", a.bind_null, e);
  resolve(library, "sqlite3_step", a.step, e);
  resolve(library, "sqlite3_column_int64", a.column_int64, e);
  resolve(library, "sqlite3_column_type", a.column_type, e);
  resolve(library, "sqlite3_column_text", a.column_text, e);
  resolve(library, "sqlite3_column_bytes", a.column_bytes, e);
  return out;
}

}  // namespace

const SqliteApi* sqlite_api(std::string* why) {
  static const LoadedSqlite loaded = load_sqlite();  // once per process, thread-safe
  if (!loaded.error.empty()) {
    if (why != nullptr) *why = loaded.error;
    return nullptr;
  }
  return &loaded.api;
}

}  // namespace eventhooks::detail
