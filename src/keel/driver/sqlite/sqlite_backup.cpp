// A consistent copy of a SQLite database through SQLite's online backup API.
//
// The whole database goes in one sqlite3_backup_step(-1): the source stays read-locked
// from the first page to the last, so the copy is one snapshot even while others write
// (in WAL mode they go on writing; readers never block them). Copying page by page in
// several steps would restart whenever another connection wrote in between.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "driver/backends.hpp"
#include "keel/error.hpp"

namespace keel::driver {
namespace {

using Db = std::unique_ptr<sqlite3, int (*)(sqlite3*)>;

Db open(const std::string& path, int flags, int busy_timeout_ms, const std::string& what) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_EXRESCODE, nullptr);
  Db db(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK)
    throw_database_error(ErrorKind::connection,
                         fmt::format("backup: cannot open {} {}: {}", what, path,
                                     raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)),
                         rc);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

// Creates `path` only if nothing is there, so that a backup never replaces a file,
// even one that appears between a check and the copy.
void claim(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno == EEXIST)
    throw UsageError(fmt::format("backup: {} already exists; keel never overwrites a file", path));
  throw Error(ErrorKind::other,
              fmt::format("backup: cannot create {}: {}", path, std::strerror(errno)));
}

}  // namespace

void backup_sqlite(const Config& config, const std::string& path) {
  const Url& url = config.url;
  if (url.is_memory() || url.path.empty())
    throw UsageError(fmt::format(
        "cannot back up {}: an in-memory database has no file to copy", url.redacted()));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(url.path, ec))
    throw UsageError(fmt::format("cannot back up {}: {} does not exist", url.redacted(), url.path));
  const int timeout_ms = config.sqlite.busy_timeout_ms;
  // Read-write without CREATE: a read-only connection cannot always open a WAL database.
  Db source = open(url.path, SQLITE_OPEN_READWRITE, timeout_ms, "the database");
  claim(path);
  try {
    Db dest = open(path, SQLITE_OPEN_READWRITE, timeout_ms, "the backup file");
    std::unique_ptr<sqlite3_backup, int (*)(sqlite3_backup*)> backup(
        sqlite3_backup_init(dest.get(), "main", source.get(), "main"), sqlite3_backup_finish);
    if (!backup)
      throw_database_error(ErrorKind::other,
                           fmt::format("backup of {} to {}: {}", url.redacted(), path,
                                       sqlite3_errmsg(dest.get())),
                           sqlite3_extended_errcode(dest.get()));
    // A writer mid-commit holds the source for a moment: wait for it as a statement would.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int rc = sqlite3_backup_step(backup.get(), -1);
    while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      rc = sqlite3_backup_step(backup.get(), -1);
    }
    int finish = sqlite3_backup_finish(backup.release());
    if (rc != SQLITE_DONE || finish != SQLITE_OK)
      throw_database_error(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ErrorKind::busy
                                                                    : ErrorKind::other,
                           fmt::format("backup of {} to {} failed: {}", url.redacted(), path,
                                       sqlite3_errmsg(dest.get())),
                           rc == SQLITE_DONE ? finish : rc);
  } catch (...) {
    // A half-written copy must not pass for a backup.
    std::filesystem::remove(path, ec);
    throw;
  }
}

}  // namespace keel::driver
