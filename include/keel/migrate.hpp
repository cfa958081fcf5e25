// keel/migrate.hpp — one migration history that runs on SQLite and PostgreSQL.
//
//   keel::Database db(keel::resolve_config({}));
//   keel::migrate_to_head(db, "migrations/");   // at start-up, under the migration lock
//
// A history is a directory of revision files, one per revision ("<id>_<slug>.yaml"),
// each naming its parent(s) and listing portable schema operations to upgrade and
// to downgrade (format: docs/migrations.md). The database records what is applied
// in keel_version: one row per applied revision, with when, how long it took and the
// checksum of its file as applied, so a file edited afterwards is caught.
//
// Every revision runs in one transaction together with its keel_version row, so a
// failure leaves schema and history exactly as they were. A whole run holds the
// migration lock: a second migrator waits (bounded) and then finds nothing to do.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/schema.hpp"

namespace keel {
class Connection;
class Database;
class InstanceLock;
}

namespace keel::migrate {

// Raw SQL, one script per dialect (the escape hatch for data migrations); "" does nothing.
struct SqlStep {
  std::string sqlite;
  std::string postgresql;
  friend bool operator==(const SqlStep&, const SqlStep&) = default;
};
// One item of a revision's upgrade or downgrade list.
using Step = std::variant<schema::Operation, SqlStep>;

// "add column t.c text NULL", or "sql" for a SqlStep.
std::string describe(const Step& step);

struct Revision {
  std::string id;
  std::vector<std::string> down_revisions;  // none for a base, two or more for a merge
  std::string message;
  std::string created;  // ISO-8601, as written
  std::vector<Step> upgrade;
  std::vector<Step> downgrade;
  std::string path;      // the file it was read from
  std::string checksum;  // see file_checksum()
};

// The revisions of a directory, parents before children.
struct History {
  std::string dir;
  std::vector<Revision> revisions;  // topological order: a revision after all its parents

  // The revision `id`, or nullptr.
  const Revision* find(std::string_view id) const noexcept;
  // The single head's id; "" for an empty history.
  std::string head() const;
  // The revisions no other revision names as its parent, in history order.
  std::vector<std::string> heads() const;
};

// A row of keel_version.
struct AppliedRevision {
  std::string id;
  std::string applied_at;  // ISO-8601 UTC
  std::int64_t duration_ms = 0;
  std::string checksum;
};

// What a run reports as it goes (RunOptions::progress).
struct RunEvent {
  enum class Kind {
    backup,    // the backup is written (backup_path)
    starting,  // a revision is about to run
    finished,  // a revision is committed (duration)
  };
  Kind kind = Kind::starting;
  std::string id;  // the revision; empty for backup
  std::string message;
  std::size_t index = 0;  // 1-based position in this run
  std::size_t total = 0;  // revisions this run applies or reverts
  std::chrono::milliseconds duration{0};
  std::string backup_path;
};

// How a run waits for the migration lock, what it does first, and whom it tells.
struct RunOptions {
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(60)};
  // upgrade on SQLite: copy the database first, under the lock and only when a revision
  // will run; "" names the copy <db file>.<current revision or base>.<YYYYMMDDTHHMMSSZ>.bak.
  std::optional<std::string> backup{};
  // Called before and after each revision, and once the backup is written.
  std::function<void(const RunEvent&)> progress{};
};

// A revision failed, was tampered with, or the history cannot be used; the message
// names the revision, the operation and the database's message.
class MigrationError : public Error {
 public:
  MigrationError(ErrorKind kind, const std::string& message) : Error(kind, message) {}
};

// ---- revision files ---------------------------------------------------------------

// 16 hex digits of XXH64 of `text` with line endings normalised to \n and trailing
// white space stripped from each line.
std::string file_checksum(std::string_view text);
// Reads one revision file; ConfigError "file:line:column: key …: …" when it is broken.
Revision load_revision_file(const std::string& path);
// Whether load_history accepts a history with several heads (branches awaiting a merge).
enum class Heads { one, many };
// Reads every *.yaml file of `dir` and orders them; ConfigError naming the file for a
// duplicate id, a missing parent, a cycle, or (with Heads::one) two heads (naming both).
History load_history(const std::string& dir, Heads heads = Heads::one);
// The id `target` names in `history` ("head", an id or a unique prefix of one);
// ConfigError listing what is known otherwise.
std::string resolve_revision(const History& history, std::string_view target);

// What write_revision writes.
struct NewRevision {
  std::string message;
  std::vector<Step> upgrade;
  std::vector<Step> downgrade;
  std::vector<std::string> parents;  // empty: the directory's head (none for a first revision)
};
// Writes a new revision file on top of dir's head(s) (creating dir) and returns it as
// loaded back (path, id and checksum set).
Revision write_revision(const std::string& dir, const NewRevision& what);
// Writes a merge revision whose parents are all of dir's heads, with empty upgrade and
// downgrade ("" message: "merge <a> and <b>"); ConfigError when there is one head.
Revision merge(const std::string& dir, const std::string& message = "");

// ---- a database's state ----------------------------------------------------------

// The table holding the applied revisions, as keel's own schema model.
schema::Table version_table();
// Every applied revision, in keel_version's order of application (empty without the table).
std::vector<AppliedRevision> history(Database& db);
// The latest applied revision of `dir`'s history, or nullopt when none is applied.
std::optional<std::string> current(Database& db, const std::string& dir);

// What check() found; ok when the database is at head and no applied file changed.
struct CheckReport {
  bool ok = true;
  std::vector<std::string> problems;  // one readable line each
};
// Compares the database with the history: behind, ahead (unknown applied
// revisions), or tampered (an applied file's checksum changed).
CheckReport check(Database& db, const std::string& dir);

// ---- running -----------------------------------------------------------------------

// Applies the revisions up to `target` ("head", an id, "+N") in order, each in its own
// transaction, under the migration lock; returns the ids applied. Refuses (MigrationError)
// when an applied revision's file changed or the database holds revisions the
// directory does not know.
std::vector<std::string> upgrade(Database& db, const std::string& dir,
                                 std::string_view target = "head", const RunOptions& options = {});
// Applies the revisions up to `target` on `conn` (PostgreSQL) inside the caller's open
// transaction, each in a savepoint, committing nothing and taking no lock (hold
// migration_lock() meanwhile); returns the ids applied. UsageError on SQLite or outside a
// transaction.
std::vector<std::string> upgrade_in_transaction(Connection& conn, const std::string& dir,
                                                std::string_view target = "head",
                                                const RunOptions& options = {});
// Takes the migration lock upgrade() takes on the database of `config`, waiting up to
// options.lock_timeout; released when the returned object is destroyed.
std::unique_ptr<InstanceLock> migration_lock(const Config& config, const RunOptions& options = {});
// Reverts applied revisions down to `target` (an id, which stays applied, "-N", or
// "base") newest first; returns the ids reverted.
std::vector<std::string> downgrade(Database& db, const std::string& dir, std::string_view target,
                                   const RunOptions& options = {});
// Records `target` (an id or "base") and exactly its ancestors as applied without
// running anything.
void stamp(Database& db, const std::string& dir, std::string_view target,
           const RunOptions& options = {});

// Records `baseline` as stamp() does when the live schema of a database that a
// hand-rolled runner built matches it.
struct AdoptReport {
  bool stamped = false;
  std::vector<std::string> differences;  // "needs: add column t.c text NULL", one each
  std::optional<std::int64_t> legacy_versions;  // rows of the legacy table; nullopt: no table
};
// Stamps `baseline` on a database that a hand-rolled runner built, when its live schema
// matches the baseline's; otherwise changes nothing and lists the differences.
// MigrationError when keel_version already has rows (use stamp()).
AdoptReport adopt(Database& db, const std::string& dir, std::string_view baseline,
                  const std::string& legacy_table = "schema_migrations",
                  const RunOptions& options = {});

// The steps of a revision and their undoing, as autogenerate() finds them.
struct Autogenerated {
  std::vector<Step> upgrade;
  std::vector<Step> downgrade;  // the inverses, last upgrade step first
};
// The steps that turn the database (at head) into `target`; MigrationError when the
// database is not at head or an applied file changed.
Autogenerated autogenerate(Database& db, const std::string& dir, const schema::MetaData& target);

// ---- offline -----------------------------------------------------------------------

// The script upgrade() would run on `backend` from `from` ("base" or an id) to `to`
// ("head", an id, "+N"): per revision BEGIN, the statements, the keel_version row,
// COMMIT (on SQLite the foreign-key PRAGMAs around it and foreign_key_check before
// COMMIT). Starting at base it first creates keel_version.
std::string upgrade_sql(const std::string& dir, Backend backend, std::string_view from = "base",
                        std::string_view to = "head");
// The script downgrade() would run on `backend` from `from` ("head" or an id, taken as
// applied with its ancestors) back to `to` (an id, "-N" or "base"): per revision BEGIN,
// the downgrade statements, the keel_version row deleted, COMMIT.
std::string downgrade_sql(const std::string& dir, Backend backend, std::string_view from,
                          std::string_view to);

}  // namespace keel::migrate

namespace keel {

// Brings the database to the head of the history in `dir` under the migration lock
// (for applications that migrate at start-up); returns the ids applied.
inline std::vector<std::string> migrate_to_head(Database& db, const std::string& dir) {
  return migrate::upgrade(db, dir, "head");
}

}  // namespace keel
