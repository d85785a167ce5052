// SQLite's C API as a table of function pointers, resolved from the SQLite shared library the first time an
// outbox is opened. Thread-safe: the table is built once, then only read.
//
// Why not link SQLite: most processes never open an outbox (a one-shot `eventhooks trigger`, an application
// that only calls hook.trigger), and loading libsqlite3 costs every one of them at start-up: about 1600
// symbol relocations (it is linked with -z now) and 300 KiB of resident memory, some 0.4 ms of a 10 ms
// `eventhooks trigger` (docs/benchmarks.md).
#pragma once

#include <sqlite3.h>

#include <string>

namespace eventhooks::detail {

struct SqliteApi {
  decltype(&::sqlite3_open_v2) open_v2 = nullptr;
  decltype(&::sqlite3_close_v2) close_v2 = nullptr;
  decltype(&::sqlite3_busy_timeout) busy_timeout = nullptr;
  decltype(&::sqlite3_db_readonly) db_readonly = nullptr;
  decltype(&::sqlite3_exec) exec = nullptr;
  decltype(&::sqlite3_free) free = nullptr;
  decltype(&::sqlite3_errmsg) errmsg = nullptr;
  decltype(&::sqlite3_errstr) errstr = nullptr;
  decltype(&::sqlite3_changes) changes = nullptr;
  decltype(&::sqlite3_prepare_v2) prepare_v2 = nullptr;
  decltype(&::sqlite3_finalize) finalize = nullptr;
  decltype(&::sqlite3_reset) reset = nullptr;
  decltype(&::sqlite3_clear_bindings) clear_bindings = nullptr;
  decltype(&::sqlite3_bind_int64) bind_int64 = nullptr;
  decltype(&::sqlite3_bind_text) bind_text = nullptr;
  decltype(&::sqlite3_bind_null) bind_null = nullptr;
  decltype(&::sqlite3_step) step = nullptr;
  decltype(&::sqlite3_column_int64) column_int64 = nullptr;
  decltype(&::sqlite3_column_type) column_type = nullptr;
  decltype(&::sqlite3_column_text) column_text = nullptr;
  decltype(&::sqlite3_column_bytes) column_bytes = nullptr;
};

// The table, loading the library on the first call; nullptr when SQLite cannot be loaded, with the reason in
// *why ("libsqlite3.so.0: cannot open shared object file ...").
const SqliteApi* sqlite_api(std::string* why);

}  // namespace eventhooks::detail
